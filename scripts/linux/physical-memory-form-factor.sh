#!/bin/sh
# physical-memory-form-factor: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
