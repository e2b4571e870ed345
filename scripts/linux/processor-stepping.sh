#!/bin/sh
# processor-stepping: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
