// Azure Cosmos DB's per-item limits, which @vercel/cosmosdb-server 1.0.1
// does not enforce; patch-server.js installs this file beside its handlers
// and calls it before every create, replace and upsert of an item (batch
// operations too), so a test breaks where Azure would
// (https://learn.microsoft.com/azure/cosmos-db/concepts-limits#per-item-limits).
// galsync keeps ids to 255 characters (see shared/store/limits.go); the
// texts of the size and id refusals are Cosmos DB's, the partition key's
// is galsync's (Cosmos DB documents none).
"use strict";

const MAX_ITEM_SIZE = 2 * 1024 * 1024;
const MAX_ID_LENGTH = 255;
const MAX_PARTITION_KEY_SIZE = 2048;

function refused(statusCode, code, message) {
  return { statusCode, body: { code, message } };
}

// refuse returns the answer Cosmos DB gives an item it refuses, or null.
module.exports = function refuse(collection, body) {
  if (!body || typeof body.id !== "string") {
    return null; // the server's own checks answer a missing id
  }
  const id = body.id;
  // JavaScript counts UTF-16 code units, as Cosmos DB does.
  if (id.length > MAX_ID_LENGTH || /[/\\?#]/.test(id)) {
    return refused(400, "BadRequest",
      `The input name '${id}' is invalid. Ensure to provide a unique non-empty string less than '${MAX_ID_LENGTH}' characters.`);
  }
  const pk = collection.documents._getPartition(body);
  if (typeof pk === "string" && Buffer.byteLength(pk) > MAX_PARTITION_KEY_SIZE) {
    return refused(400, "BadRequest",
      `The partition key value of ${Buffer.byteLength(pk)} bytes exceeds the limit of ${MAX_PARTITION_KEY_SIZE} bytes.`);
  }
  if (Buffer.byteLength(JSON.stringify(body)) > MAX_ITEM_SIZE) {
    return refused(413, "RequestEntityTooLarge", "Request size is too large");
  }
  return null;
};
