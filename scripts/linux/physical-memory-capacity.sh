#!/bin/sh
# physical-memory-capacity: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
