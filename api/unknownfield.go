package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// unknownFieldPath finds where in body an object has the key name that no
// field of the Go type decoded there takes, and returns that object's path
// ("webhook", "recipients[2]"), "" for the top level. encoding/json names
// only the key, so a misspelled field of a nested object read as if it
// were at the top. ok is false when the key cannot be placed.
func unknownFieldPath(body []byte, t reflect.Type, name string) (path string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	return findUnknown(v, t, name, "")
}

func findUnknown(v any, t reflect.Type, name, path string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := v.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Struct:
			return findUnknownField(x, t, name, path)
		case reflect.Map:
			for k, e := range x {
				if p, ok := findUnknown(e, t.Elem(), name, join(path, k)); ok {
					return p, true
				}
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, e := range x {
				if p, ok := findUnknown(e, t.Elem(), name, path+"["+strconv.Itoa(i)+"]"); ok {
					return p, true
				}
			}
		}
	}
	return "", false
}

// findUnknownField looks at an object decoded into the struct type t.
func findUnknownField(obj map[string]any, t reflect.Type, name, path string) (string, bool) {
	fields := reflect.VisibleFields(t)
	if _, present := obj[name]; present && fieldFor(fields, name) == nil {
		return path, true
	}
	for k, e := range obj {
		if f := fieldFor(fields, k); f != nil {
			if p, ok := findUnknown(e, f.Type, name, join(path, k)); ok {
				return p, true
			}
		}
	}
	return "", false
}

// fieldFor is the field encoding/json decodes key into: the exact name
// first, then one that matches without regard to case.
func fieldFor(fields []reflect.StructField, key string) *reflect.StructField {
	var folded *reflect.StructField
	for i, f := range fields {
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == key {
			return &fields[i]
		}
		if folded == nil && strings.EqualFold(tag, key) {
			folded = &fields[i]
		}
	}
	return folded
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
