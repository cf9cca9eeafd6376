package funcproto

import (
	"bytes"
	"encoding/json"
	"testing"
)

// jsonStringCases hold every kind of character the two functions treat
// apart.
var jsonStringCases = []string{
	"", "plain", `quote " and backslash \`, "<html> & co", "tab\tnew\nline\rcr\bbs\fff", "\x00\x01\x1f\x7f",
	"caf\u00e9 \u65e5\u672c \U0001F600", "line\u2028para\u2029", "bad \xff utf8 \xc3", `{"a":"b\"c","d":[1,2]}`,
	`"already quoted"`, `\u0041 \/ slash`,
}

// encodingJSONText is how encoding/json writes s with HTML escaping off:
// the reference appendJSONString must match.
func encodingJSONText(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonStringCases {
		checkAppendJSONString(t, s)
	}
}

func checkAppendJSONString(t *testing.T, s string) {
	t.Helper()
	if got, want := appendJSONString(nil, s), encodingJSONText(s); !bytes.Equal(got, want) {
		t.Errorf("appendJSONString(%q) = %s, encoding/json writes %s", s, got, want)
	}
}

func TestUnquoteJSONMatchesEncodingJSON(t *testing.T) {
	raws := []string{`"`, `""`, `"a"b"`, `"ends in \"`, `"\x"`, `"\u00e9\ud83d\ude00"`, `"\ud800"`, "\"ctl\x01\"", `x`, `"a" `}
	for _, s := range jsonStringCases {
		raws = append(raws, string(encodingJSONText(s)), string(encodingJSONText(string(encodingJSONText(s)))), `"`+s+`"`)
	}
	for _, raw := range raws {
		checkUnquoteJSON(t, []byte(raw))
	}
}

func checkUnquoteJSON(t *testing.T, raw []byte) {
	t.Helper()
	var want string
	wantErr := json.Unmarshal(raw, &want)
	got, err := unquoteJSON(raw)
	if (err != nil) != (wantErr != nil) || got != want {
		t.Errorf("unquoteJSON(%q) = %q, %v; json.Unmarshal gives %q, %v", raw, got, err, want, wantErr)
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range jsonStringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAppendJSONString(t, s)
		checkUnquoteJSON(t, []byte(s))
		checkUnquoteJSON(t, encodingJSONText(s))
	})
}

// decoderMembers lists an object's top-level members with json.Decoder's
// tokens: the reference eachMember must match.
func decoderMembers(obj []byte) [][2]string {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	var out [][2]string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return out
		}
		out = append(out, [2]string{key, string(raw)})
	}
	return out
}

func checkEachMember(t *testing.T, obj []byte) {
	t.Helper()
	if !isObject(obj) {
		return
	}
	// isObject trims more than JSON's white space; a body that starts with
	// such a character is an error to both, and neither copies anything.
	var got [][2]string
	if err := eachMember(obj, func(k string, raw json.RawMessage) { got = append(got, [2]string{k, string(raw)}) }); err != nil {
		got = nil
	}
	if want := decoderMembers(obj); !equalMembers(got, want) {
		t.Errorf("eachMember(%s) = %q, json.Decoder reads %q", obj, got, want)
	}
}

func equalMembers(a, b [][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var objectCases = []string{
	`{}`, ` { } `, `{"a":1}`, "{\n \"a\" : \"x\\\"}\" ,\t\"b\":[1,{\"c\":\"]}\"}],\"d\":null,\"e\":true,\"f\":-1.5e3}",
	`{"dup":1,"DUP":2,"dup":"3"}`, `{"k\u00e9y":"v\\\\","nested":{"a":{"b":[[]]}},"s":"{\"x\":1}"}`,
	`{"direction":"a-b","sourceUserId":"u1","seq":7,"kind":"upsert"}`, benchBody,
}

func TestEachMemberMatchesDecoder(t *testing.T) {
	for _, o := range objectCases {
		checkEachMember(t, []byte(o))
	}
}

func FuzzEachMember(f *testing.F) {
	for _, o := range objectCases {
		f.Add([]byte(o))
	}
	f.Fuzz(func(t *testing.T, obj []byte) { checkEachMember(t, obj) })
}
