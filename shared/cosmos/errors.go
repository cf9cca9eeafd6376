package cosmos

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/galsync/galsync/shared/galsync"
)

// statusCode is the HTTP status of a Cosmos DB error, 0 if err is not one.
func statusCode(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// subStatusOwnerMissing is the 404 substatus Cosmos DB answers when the
// container or database of an item does not exist (the item itself is
// missing when the substatus is 0).
const subStatusOwnerMissing = "1003"

// mapError classifies a Cosmos DB error once, for every operation:
// 404 (item) → galsync.ErrNotFound; 409 and 412 → galsync.ErrConflict;
// anything else keeps the SDK's error, which carries status and code but
// never the account key. op says what failed ("get cursor \"a\"").
func mapError(op string, err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("cosmos: %s: %w", op, err)
	}
	switch re.StatusCode {
	case http.StatusNotFound:
		if re.RawResponse != nil && re.RawResponse.Header.Get("x-ms-substatus") == subStatusOwnerMissing {
			return fmt.Errorf("cosmos: %s: container or database missing: %w", op, err)
		}
		return fmt.Errorf("cosmos: %s: %w", op, galsync.ErrNotFound)
	case http.StatusConflict, http.StatusPreconditionFailed:
		return fmt.Errorf("cosmos: %s: %w (HTTP %d)", op, galsync.ErrConflict, re.StatusCode)
	}
	return fmt.Errorf("cosmos: %s: %w", op, err)
}
