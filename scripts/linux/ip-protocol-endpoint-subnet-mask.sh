#!/bin/sh
# ip-protocol-endpoint-subnet-mask: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
