package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Service Bus's limits (Standard tier), which every backend enforces so a
// message Azure would refuse fails on the embedded queue and the test
// broker too
// (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-quotas).
const (
	// MaxMessageIDLength is the longest message id, in characters
	// (UTF-16 code units, as .NET counts them).
	MaxMessageIDLength = 128
	// MaxMessageSize bounds a message, and a batch of messages sent in one
	// transfer, in bytes of its AMQP encoding: 256 KB on Standard.
	MaxMessageSize = 256 * 1024
)

// Errors for messages Service Bus refuses.
var (
	ErrMessageIDTooLong = errors.New("queue: message id too long")
	ErrMessageTooLarge  = errors.New("queue: message too large")
)

// IDLength is the length of id as Service Bus counts it: UTF-16 code
// units.
func IDLength(id string) int {
	n := 0
	for _, r := range id {
		n += utf16.RuneLen(r)
	}
	return n
}

// CheckID refuses an id longer than Service Bus allows, with the text the
// test broker answers.
func CheckID(id string) error {
	if n := IDLength(id); n > MaxMessageIDLength {
		return fmt.Errorf("%w: %s", ErrMessageIDTooLong, MessageIDTooLongText(n))
	}
	return nil
}

// MessageIDTooLongText describes a refused id of n characters (the id
// itself is left out: it may be long, and it names a user).
func MessageIDTooLongText(n int) string {
	return fmt.Sprintf("The message id of %d characters exceeds the limit of %d characters.", n, MaxMessageIDLength)
}

// MessageTooLargeText is Service Bus's answer to a transfer above the
// link's maximum message size.
func MessageTooLargeText(size int) string {
	return fmt.Sprintf("The received message (delivery-id:0, size:%d bytes) exceeds the limit (%d bytes) currently allowed on the link.", size, MaxMessageSize)
}

// CheckMessage refuses a message Service Bus would refuse: an id over
// MaxMessageIDLength, or an encoding over MaxMessageSize.
func CheckMessage(m Message) error {
	if err := CheckID(m.ID); err != nil {
		return err
	}
	if size := EncodedSize(m); size > MaxMessageSize {
		return fmt.Errorf("%w: message %q: %s", ErrMessageTooLarge, m.ID, MessageTooLargeText(size))
	}
	return nil
}

// EncodedSize is the size, in bytes, of the transfer that carries m alone
// in a batch as azservicebus sends it, which is what Service Bus compares
// with MaxMessageSize: the batch envelope (a copy of m without its body),
// then m itself, AMQP-encoded, in a data section. It never falls short of
// the real size and exceeds it by at most a few bytes (a null byte for
// each unset property field, the 32-bit binary form).
func EncodedSize(m Message) int {
	head := propertiesSize(m) + annotationsSize(m) + applicationPropertiesSize(m.Properties)
	body := descriptorSize + binarySize(len(m.Body))
	return head + descriptorSize + 1 + 4 + head + body
}

const (
	descriptorSize = 3         // 0x00, smallulong code, section code
	compoundHeader = 1 + 4 + 4 // list32/map32: code, size, count
	// generatedIDLength is the length of the UUID the SDK gives a message
	// without an id.
	generatedIDLength = 36
)

// propertiesSize is the properties section: a list of up to 13 fields,
// encoded up to the last one set (group-id, the session, is the eleventh),
// each unset one as a null byte.
func propertiesSize(m Message) int {
	id := len(m.ID)
	if m.ID == "" {
		id = generatedIDLength
	}
	n := descriptorSize + compoundHeader + 11 // a null byte for each field up to group-id
	for _, l := range []int{id, len(m.Subject), len(m.CorrelationID), len(m.ContentType), len(m.SessionID)} {
		if l > 0 {
			n += stringSize(l) - 1 // replaces its null byte
		}
	}
	return n
}

// annotationsSize is the message-annotations section, which azservicebus
// always sends, with the scheduled enqueue time when set.
func annotationsSize(m Message) int {
	n := descriptorSize + compoundHeader
	if !m.ScheduledAt.IsZero() {
		n += stringSize(len("x-opt-scheduled-enqueue-time")) + 1 + 8 // symbol, timestamp
	}
	return n
}

func applicationPropertiesSize(props map[string]string) int {
	if len(props) == 0 {
		return 0
	}
	n := descriptorSize + compoundHeader
	for k, v := range props {
		n += stringSize(len(k)) + stringSize(len(v))
	}
	return n
}

// stringSize is an AMQP string (or symbol) of l bytes: str8 up to 255
// bytes, str32 beyond.
func stringSize(l int) int {
	if l < 256 {
		return 2 + l
	}
	return 5 + l
}

// binarySize is an AMQP binary of l bytes: vbin8 up to 255 bytes, vbin32
// beyond.
func binarySize(l int) int {
	if l < 256 {
		return 2 + l
	}
	return 5 + l
}

// idHashLength is how many hex digits of SHA-256 FitID keeps: 128 bits, so
// two different long ids never share a fitted id in practice.
const idHashLength = 32

// FitID returns id unchanged if Service Bus accepts it; a longer id
// becomes a readable prefix of it, "~", and a hash of the whole id, 128
// characters in all. The same id always gives the same result, so
// duplicate detection, which compares ids, still drops a repeat of a
// message whose id was fitted.
func FitID(id string) string {
	if IDLength(id) <= MaxMessageIDLength {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	suffix := "~" + hex.EncodeToString(sum[:])[:idHashLength]
	room := MaxMessageIDLength - len(suffix)
	prefix, n := id, 0
	for i, r := range id {
		if n+utf16.RuneLen(r) > room {
			prefix = id[:i]
			break
		}
		n += utf16.RuneLen(r)
	}
	// AMQP strings are UTF-8: drop what is not (the hash keeps the id
	// apart from others all the same).
	return strings.ToValidUTF8(prefix, "") + suffix
}
