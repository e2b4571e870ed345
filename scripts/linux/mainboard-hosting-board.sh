#!/bin/sh
# mainboard-hosting-board: a placeholder until the node-side scripts land (agent issue); prints nothing.
exit 0
