package storetest

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// diff compares two records of one struct type field by field: times with
// Equal (a store may change their zone or monotonic reading), ETag not at
// all (the store sets it), everything else with reflect.DeepEqual. It
// returns "" when they match.
func diff(got, want any) string {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	if g.Type() != w.Type() || g.Kind() != reflect.Struct {
		return fmt.Sprintf("cannot compare %T with %T", got, want)
	}
	var out []string
	for i := range g.NumField() {
		f := g.Type().Field(i)
		gv, wv := g.Field(i).Interface(), w.Field(i).Interface()
		switch {
		case f.Name == "ETag":
		case f.Type == timeType:
			if !gv.(time.Time).Equal(wv.(time.Time)) {
				out = append(out, fmt.Sprintf("%s: got %v, want %v", f.Name, gv, wv))
			}
		case !reflect.DeepEqual(gv, wv):
			out = append(out, fmt.Sprintf("%s: got %#v, want %#v", f.Name, gv, wv))
		}
	}
	return strings.Join(out, "; ")
}
