// Patches @vercel/cosmosdb-server 1.0.1 after npm installs it:
//   - reading a missing item (or an item under another partition key)
//     must answer 404 as Cosmos DB does, not 500 (the handler reads a
//     field of undefined);
//   - creating, replacing or upserting an item Cosmos DB would refuse (over
//     2 MB, a bad or long id, a long partition key value) is refused with
//     Cosmos DB's status and message (limits.js, installed beside the
//     handlers).
// Idempotent; fails loudly if a file is not the one this patch knows.
"use strict";
const fs = require("fs");
const path = require("path");

const lib = path.join(__dirname, "node_modules", "@vercel", "cosmosdb-server", "lib");

// patch replaces before by after in file, once; a file that already holds
// after is left alone.
function patch(file, before, after) {
  const src = fs.readFileSync(file, "utf8");
  if (src.includes(after)) {
    return;
  }
  if (!src.includes(before)) {
    console.error(`patch-server: ${file} does not contain ${JSON.stringify(before)}; was @vercel/cosmosdb-server upgraded?`);
    process.exit(1);
  }
  fs.writeFileSync(file, src.replace(before, after));
}

patch(path.join(lib, "handler", "read-document.js"),
  "if (data[path] !== clientKeys[i]) {",
  "if (!data || data[path] !== clientKeys[i]) {");

fs.copyFileSync(path.join(__dirname, "limits.js"), path.join(lib, "galsync-limits.js"));
const operations = path.join(lib, "handler", "_document-operations.js");
for (const op of ["createOperation", "replaceOperation", "upsertOperation"]) {
  const head = `function ${op}(collection, input) {`;
  patch(operations, head,
    `${head}\n    { const refused = require("../galsync-limits")(collection, input.resourceBody); if (refused) { return refused; } }`);
}
