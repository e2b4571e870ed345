#!/bin/sh
# ip-protocol-endpoint-ipv4-address: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
