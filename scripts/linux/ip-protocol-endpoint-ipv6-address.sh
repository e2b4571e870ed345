#!/bin/sh
# ip-protocol-endpoint-ipv6-address: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
