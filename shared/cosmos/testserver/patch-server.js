// Patches @vercel/cosmosdb-server 1.0.1 after npm installs it: reading a
// missing item (or an item under another partition key) must answer 404
// as Cosmos DB does, not 500 (the handler reads a field of undefined).
// Idempotent; fails loudly if the file is not the one this patch knows.
"use strict";
const fs = require("fs");
const path = require("path");

const file = path.join(__dirname, "node_modules", "@vercel", "cosmosdb-server", "lib", "handler", "read-document.js");
const before = "if (data[path] !== clientKeys[i]) {";
const after = "if (!data || data[path] !== clientKeys[i]) {";

const src = fs.readFileSync(file, "utf8");
if (src.includes(after)) {
  process.exit(0);
}
if (!src.includes(before)) {
  console.error(`patch-server: ${file} does not contain ${JSON.stringify(before)}; was @vercel/cosmosdb-server upgraded?`);
  process.exit(1);
}
fs.writeFileSync(file, src.replace(before, after));
