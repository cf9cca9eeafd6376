package store

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf16"

	"github.com/galsync/galsync/shared/galsync"
)

// Azure Cosmos DB's per-item limits, which every backend enforces so a
// record Azure would refuse fails on the embedded store and the Cosmos DB
// test server too
// (https://learn.microsoft.com/azure/cosmos-db/concepts-limits#per-item-limits).
const (
	// MaxItemSize bounds an item: 2 MB of its JSON, UTF-8.
	MaxItemSize = 2 * 1024 * 1024
	// MaxItemIDLength bounds an item id, in characters. The limits page
	// now gives 1,023 bytes; galsync keeps to the 255 characters Cosmos DB
	// long allowed, which every account and SDK accepts, and its ids (user
	// ids, direction and tenant names) are far shorter.
	MaxItemIDLength = 255
	// MaxPartitionKeySize bounds a partition key value: 2,048 bytes
	// (containers with large partition keys, version 2, as galsync
	// creates them).
	MaxPartitionKeySize = 2048
	// ItemOverhead allows for what an item holds beside the record: its id
	// and partition key fields, and the system properties Cosmos DB adds
	// (_rid, _self, _etag, _attachments, _ts).
	ItemOverhead = 256
)

// Errors for records Cosmos DB refuses; both come wrapped in a
// *RefusedError, itself galsync.Permanent: retrying cannot help.
var (
	// ErrTooLarge: the record is larger than an item may be.
	ErrTooLarge = errors.New("store: record too large")
	// ErrInvalidKey: a key Cosmos DB cannot take as an item id or a
	// partition key value (too long, or an id with / \ ? #).
	ErrInvalidKey = errors.New("store: invalid key")
)

// RefusedError is Cosmos DB's refusal of an item: its HTTP status, code
// and message, and the kind (ErrTooLarge or ErrInvalidKey).
type RefusedError struct {
	StatusCode int
	Code       string
	Message    string
	Kind       error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%v: %d %s: %s", e.Kind, e.StatusCode, e.Code, e.Message)
}

func (e *RefusedError) Unwrap() error { return e.Kind }

// Refusal texts: the status and message Cosmos DB answers. The message for
// an over-long partition key is galsync's: Cosmos DB does not document one.
func tooLarge() error {
	return galsync.Permanent(&RefusedError{StatusCode: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge",
		Message: "Request size is too large", Kind: ErrTooLarge})
}

func invalidID(id string) error {
	return galsync.Permanent(&RefusedError{StatusCode: http.StatusBadRequest, Code: "BadRequest",
		Message: fmt.Sprintf("The input name '%s' is invalid. Ensure to provide a unique non-empty string less than '%d' characters.", id, MaxItemIDLength),
		Kind:    ErrInvalidKey})
}

func partitionKeyTooLarge(size int) error {
	return galsync.Permanent(&RefusedError{StatusCode: http.StatusBadRequest, Code: "BadRequest",
		Message: fmt.Sprintf("The partition key value of %d bytes exceeds the limit of %d bytes.", size, MaxPartitionKeySize),
		Kind:    ErrInvalidKey})
}

// ItemID is the item id a record key is stored under in Cosmos DB: the
// characters ids may not hold (/ \ ? #) and the escape character itself
// are percent-escaped, so every key maps to one valid id.
var ItemID = strings.NewReplacer("%", "%25", "/", "%2F", `\`, "%5C", "?", "%3F", "#", "%23").Replace

// CheckItem refuses what Cosmos DB would: an item id (as stored, after
// ItemID) empty, over MaxItemIDLength characters or holding / \ ? #; a
// partition key value over MaxPartitionKeySize bytes; an item of more than
// MaxItemSize bytes of JSON (size includes ItemOverhead where the caller
// estimates it).
func CheckItem(id, partitionKey string, size int) error {
	if id == "" || idLength(id) > MaxItemIDLength || strings.ContainsAny(id, `/\?#`) {
		return invalidID(id)
	}
	if len(partitionKey) > MaxPartitionKeySize {
		return partitionKeyTooLarge(len(partitionKey))
	}
	if size > MaxItemSize {
		return tooLarge()
	}
	return nil
}

// CheckGenerated is CheckItem for an item whose id the backend makes
// itself, short and valid (a log entry): only the partition key and the
// size can be refused.
func CheckGenerated(partitionKey string, size int) error {
	return CheckItem("generated", partitionKey, size)
}

// idLength counts characters as Cosmos DB (.NET) does: UTF-16 code units.
func idLength(id string) int {
	n := 0
	for _, r := range id {
		n += utf16.RuneLen(r)
	}
	return n
}

// ItemSize estimates the size of the item that stores a record whose JSON
// is recordSize bytes under id and partitionKey.
func ItemSize(id, partitionKey string, recordSize int) int {
	return recordSize + len(id) + len(partitionKey) + ItemOverhead
}
