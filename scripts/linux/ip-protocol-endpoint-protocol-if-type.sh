#!/bin/sh
# ip-protocol-endpoint-protocol-if-type: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
