#!/bin/sh
# ethernet-port-full-duplex: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
