// Loaded with `node --require` ahead of the server by shared/cosmos/cosmostest:
// the Go test process holds our stdin open and the pipe closes when that
// process exits, however it exits (a test timeout panics past every
// cleanup), so no server outlives the test that started it.
"use strict";
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
