package cosmos

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/store"
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
// 413, and 400 for an invalid id or partition key → a permanent
// *store.RefusedError (store.ErrTooLarge, store.ErrInvalidKey) with
// Cosmos DB's code and message; anything else keeps the SDK's error,
// which carries status and code but never the account key. op says what
// failed ("get cursor \"a\"").
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
	case http.StatusRequestEntityTooLarge:
		return fmt.Errorf("cosmos: %s: %w", op, refused(re, store.ErrTooLarge))
	case http.StatusBadRequest:
		if _, msg := errorBody(re); isKeyRefusal(msg) {
			return fmt.Errorf("cosmos: %s: %w", op, refused(re, store.ErrInvalidKey))
		}
	}
	return fmt.Errorf("cosmos: %s: %w", op, err)
}

// refused is Cosmos DB's refusal of an item, as the store port reports it.
func refused(re *azcore.ResponseError, kind error) error {
	code, msg := errorBody(re)
	if code == "" {
		code = re.ErrorCode
	}
	return galsync.Permanent(&store.RefusedError{StatusCode: re.StatusCode, Code: code, Message: msg, Kind: kind})
}

// isKeyRefusal tells a 400 for an item id ("The input name '…' is
// invalid") or a partition key value from other bad requests.
func isKeyRefusal(msg string) bool {
	return strings.Contains(msg, "The input name") || strings.Contains(strings.ToLower(msg), "partition key value")
}

// errorBody is the code and message of a Cosmos DB error body ({"code",
// "message"}); empty if the body has none.
func errorBody(re *azcore.ResponseError) (code, message string) {
	if re.RawResponse == nil {
		return "", ""
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil {
		return "", ""
	}
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	return e.Code, e.Message
}
