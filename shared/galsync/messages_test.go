package galsync_test

import (
	"testing"

	"github.com/galsync/galsync/shared/galsync"
)

func TestDecodePullRequest(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"direction":"a-to-b","trigger":"timer"}`, true},
		{`{"direction":"a-to-b","mode":"full"}`, true},
		{`{"direction":"a-to-b","mode":"sweep","sweep":{"round":"r","link":"l","page":2}}`, true},
		{`{"mode":"lifecycle","lifecycle":{"tenant":"contoso","event":"reauthorizationRequired","subscription":"s1"}}`, true},
		{`{"trigger":"timer"}`, false},
		{`{"direction":"a-to-b","mode":"sideways"}`, false},
		{`{"direction":"a-to-b","sweep":{"round":"r","link":"l"}}`, false},
		{`{"direction":"a-to-b","mode":"sweep","sweep":{"round":"r"}}`, false},
		{`{"mode":"lifecycle"}`, false},
		{`{"mode":"lifecycle","lifecycle":{"tenant":"contoso"}}`, false},
		{`{"direction":"a-to-b","lifecycle":{"tenant":"contoso","event":"missed"}}`, false},
		{``, false},
		{`{`, false},
	} {
		_, err := galsync.DecodePullRequest([]byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%t", tc.body, err, tc.ok)
		}
		if err != nil && !galsync.IsPermanent(err) {
			t.Errorf("%s: %v is not permanent", tc.body, err)
		}
	}
}
