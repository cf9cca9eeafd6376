package funcproto

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchBody is a work item as galsync sends one: a user's source
// attributes, with the characters JSON escapes.
const benchBody = `{"direction":"source-to-target","sourceUserId":"6f1c2a9e-4b7d-4c3e-9a1f-2d3e4f5a6b7c","seq":1764752400123456789,` +
	`"kind":"upsert","source":{"accountEnabled":true,"businessPhones":["+1 425 555 0100"],"city":"Redmond","companyName":"Contoso <West>",` +
	`"country":"United States","creationType":null,"department":"Sales & Marketing","displayName":"Adele Vance","employeeId":"E-10442",` +
	`"givenName":"Adele","jobTitle":"Retail Manager","mail":"AdeleV@source.onmicrosoft.com","mobilePhone":"+1 425 555 0109",` +
	`"officeLocation":"18/2111","otherMails":[],"proxyAddresses":["SMTP:AdeleV@source.onmicrosoft.com"],"surname":"Vance",` +
	`"userPrincipalName":"AdeleV@source.onmicrosoft.com","userType":"Member"},"trigger":"delta"}`

// BenchmarkServiceBusInvocation encodes a work item's invocation as the
// local host does and decodes it as a handler does.
func BenchmarkServiceBusInvocation(b *testing.B) {
	d := testDelivery(benchBody)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeServiceBus("msg", d, testSys); err != nil {
				b.Fatal(err)
			}
		}
	})
	payload, err := EncodeServiceBus("msg", d, testSys)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/f", bytes.NewReader(payload))
			inv, err := Decode(r, 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := inv.ServiceBus("msg"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
