// Package cosmos is the Azure Cosmos DB (NoSQL API) backend of the store
// port (shared/store), on the azcosmos SDK. It passes the same conformance
// suite (store/storetest) as the embedded store.
//
// # Containers and partition keys
//
// One container per record type, each partitioned for the way galsync
// reads it (Containers returns the definitions as data):
//
//	container      partition key   item id            read by
//	cursors        /direction      direction          point read
//	links          /direction      source user id     point read; ListLinks walks one direction
//	rounds         /direction      round:page         the pages of one round of one direction
//	state          /direction      direction          point read
//	               (held pages)    held:first seq     ListHeld walks one direction (kind "held")
//	subscriptions  /tenant         tenant             point read; ListSubscriptions (a handful)
//	log            /direction      time.index.digest  QueryLog; entries expire (default TTL)
//
// Everything a delta pull, a worker or the reconciliation touches belongs
// to one direction, so /direction keeps every hot read in one partition: a
// point read for cursors, state and links, and a single-partition query
// for ListLinks (the full-round sweep) and a round's pages. A logical
// partition holds at most 20 GB: a direction's links (about 1–2 KB each)
// fit ten million users.
//
// The log is partitioned by /direction too. QueryLog filters on direction,
// source user, action and time, and must answer oldest first with a limit.
// The gateway that azcosmos talks to can order and limit (ORDER BY, TOP)
// only inside one partition, so a direction-scoped query, which is what
// the pipeline and the status views ask, is ordered and cut by Cosmos DB.
// /sourceUserId would make one user's history a single partition, but
// would turn every per-direction query into a fan-out that reads and sorts
// the direction's whole log in the client. A query for one user without a
// direction still works: it crosses partitions, filtered on the user, and
// is sorted here (a user has few entries). Entries live Options.LogTTL
// (the container's default TTL, GALSYNC_LOG_RETENTION), which also bounds
// a direction's log partition.
//
// # Documents
//
// Records are stored under "value" as the domain encodes them, beside the
// id and the fields the container is partitioned and queried by, so no
// record field collides with Cosmos DB's own (Subscription has an "id").
// Keys become item ids with / \ ? # and % escaped (store.ItemID).
//
// # Limits
//
// Cosmos DB refuses an item over 2 MB (413), and an id over 255 characters
// or a partition key value over 2 KB (400); mapError reports them as a
// permanent *store.RefusedError of kind store.ErrTooLarge or
// store.ErrInvalidKey, with Cosmos DB's code and message. The embedded
// store refuses the same records, and the test server (patched, see
// testserver/limits.js) answers as Cosmos DB does.
//
// # Consistency
//
// Every write of a cursor, link, direction state or subscription is
// guarded by its ETag (If-Match): an empty ETag creates (409 if the record
// exists), a current one replaces (412 if another writer won, 404 if the
// record went). All three are galsync.ErrConflict; a read of a missing record
// is galsync.ErrNotFound. Nothing relies on transactional batches or partition-scoped query
// semantics: every query names its partition in the WHERE clause too,
// and multi-item work (DeleteRound, AppendLog) is item by item and safe to
// repeat. Reads carry no session token, so under Session consistency a read
// may trail a recent write; the ETag guard turns a write based on a stale
// read into a conflict, never a lost update.
//
// # Configuration
//
// ConfigFromEnv reads GALSYNC_COSMOS (a connection string with the account
// key: development and the emulator) or GALSYNC_COSMOS__accountEndpoint
// (managed identity, user-assigned with GALSYNC_COSMOS__clientId), and
// GALSYNC_COSMOS_DATABASE. Production containers come from Terraform; Open
// checks that they exist with the partition keys above, and EnsureContainers
// creates them for development.
package cosmos
