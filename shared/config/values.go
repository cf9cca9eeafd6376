package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Values returns every setting's effective value (defaults applied) by its
// app setting name, formatted as it would be written in the environment.
// The local host resolves %NAME% references in function.json from it, as
// the Functions host resolves them from app settings.
func (s Settings) Values() map[string]string {
	v := reflect.ValueOf(s)
	t := v.Type()
	out := make(map[string]string, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("ignored") == "true" {
			continue
		}
		key := f.Tag.Get("envconfig")
		if key == "" {
			key = strings.ToUpper(f.Name)
		}
		out[Prefix+"_"+key] = fmt.Sprint(v.Field(i).Interface())
	}
	return out
}
