package servicebus

import (
	"errors"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/go-amqp"
)

func isLockLost(err error) bool {
	var sbErr *azservicebus.Error
	return errors.As(err, &sbErr) && sbErr.Code == azservicebus.CodeLockLost
}

// isNotFound: management operations report a missing entity as
// CodeNotFound; a link attach to one fails with the AMQP condition
// amqp:not-found, which the SDK passes on unclassified.
func isNotFound(err error) bool {
	var sbErr *azservicebus.Error
	if errors.As(err, &sbErr) && sbErr.Code == azservicebus.CodeNotFound {
		return true
	}
	var amqpErr *amqp.Error
	return errors.As(err, &amqpErr) && amqpErr.Condition == amqp.ErrCondNotFound
}

// scrub keeps secrets out of error text. The SDK does not put keys in its
// errors; this is the guard that keeps it so, whatever an error wraps.
func scrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	leaked := false
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			text = strings.ReplaceAll(text, s, "<redacted>")
			leaked = true
		}
	}
	if !leaked {
		return err
	}
	return scrubbedError{text: text, err: err}
}

// scrubbedError shows redacted text but still answers errors.Is and
// errors.As for what it wraps. It does not offer Unwrap, so the original
// text is not one call away.
type scrubbedError struct {
	text string
	err  error
}

func (e scrubbedError) Error() string        { return e.text }
func (e scrubbedError) Is(target error) bool { return errors.Is(e.err, target) }
func (e scrubbedError) As(target any) bool   { return errors.As(e.err, target) }
