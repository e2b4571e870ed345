#!/bin/sh
# processor-family: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
