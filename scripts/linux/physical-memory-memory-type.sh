#!/bin/sh
# physical-memory-memory-type: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
