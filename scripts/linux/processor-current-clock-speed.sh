#!/bin/sh
# processor-current-clock-speed: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
