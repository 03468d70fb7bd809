package render

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Numeric filters follow Ruby Liquid rather than osteele/liquid: a string
// operand is converted the way String#to_i does it, so "3" is 3 and "abc" is
// 0, and a missing value is 0. Braze behaves so, and a body like
// {"n": {{x | plus: 1}}} then stays valid JSON whatever x holds (R5).

var errDivideByZero = errors.New("divided by 0")

// number is an Integer or a Float, as in Ruby.
type number struct {
	i       int64
	f       float64
	isFloat bool
}

func (n number) float() float64 {
	if n.isFloat {
		return n.f
	}
	return float64(n.i)
}

// value returns the number as the Go value a template sees.
func (n number) value() any {
	if n.isFloat {
		return n.f
	}
	return n.i
}

var (
	decimalString = regexp.MustCompile(`^-?\d+\.\d+$`)
	integerPrefix = regexp.MustCompile(`^[+-]?\d+`)
)

// toNumber is Liquid's Utilities.to_number.
func toNumber(v any) number {
	switch v := v.(type) {
	case float64:
		return fromFloat(v)
	case float32:
		return fromFloat(float64(v))
	case int:
		return number{i: int64(v)}
	case int64:
		return number{i: v}
	case int32:
		return number{i: int64(v)}
	case uint32:
		return number{i: int64(v)}
	case string:
		return parseNumber(v)
	}
	return number{}
}

// fromFloat treats an integral float as an Integer: JSON decoding gives
// float64 for every number, where Ruby would have parsed 3 as an Integer.
func fromFloat(f float64) number {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return number{i: int64(f)}
	}
	return number{f: f, isFloat: true}
}

func parseNumber(s string) number {
	s = strings.TrimSpace(s)
	if decimalString.MatchString(s) {
		f, _ := strconv.ParseFloat(s, 64)
		return number{f: f, isFloat: true}
	}
	i, err := strconv.ParseInt(integerPrefix.FindString(s), 10, 64)
	if err != nil {
		return number{}
	}
	return number{i: i}
}

// arith applies an operation to two numbers, as Integers when both are.
func arith(a, b any, onInt func(x, y int64) int64, onFloat func(x, y float64) float64) any {
	x, y := toNumber(a), toNumber(b)
	if x.isFloat || y.isFloat {
		return onFloat(x.float(), y.float())
	}
	return onInt(x.i, y.i)
}

func plus(a, b any) any {
	return arith(a, b, func(x, y int64) int64 { return x + y }, func(x, y float64) float64 { return x + y })
}

func minus(a, b any) any {
	return arith(a, b, func(x, y int64) int64 { return x - y }, func(x, y float64) float64 { return x - y })
}

func times(a, b any) any {
	return arith(a, b, func(x, y int64) int64 { return x * y }, func(x, y float64) float64 { return x * y })
}

// dividedBy divides as Ruby does: Integer division floors.
func dividedBy(a, b any) (any, error) {
	x, y := toNumber(a), toNumber(b)
	if x.isFloat || y.isFloat {
		if y.float() == 0 {
			return nil, errDivideByZero
		}
		return x.float() / y.float(), nil
	}
	if y.i == 0 {
		return nil, errDivideByZero
	}
	q := x.i / y.i
	if (x.i%y.i != 0) && ((x.i < 0) != (y.i < 0)) {
		q--
	}
	return q, nil
}

// modulo takes the sign of the divisor, as Ruby's % does.
func modulo(a, b any) (any, error) {
	x, y := toNumber(a), toNumber(b)
	if x.isFloat || y.isFloat {
		if y.float() == 0 {
			return nil, errDivideByZero
		}
		m := math.Mod(x.float(), y.float())
		if m != 0 && (m < 0) != (y.float() < 0) {
			m += y.float()
		}
		return m, nil
	}
	if y.i == 0 {
		return nil, errDivideByZero
	}
	return ((x.i % y.i) + y.i) % y.i, nil
}

func abs(a any) any {
	n := toNumber(a)
	if n.isFloat {
		return math.Abs(n.f)
	}
	if n.i < 0 {
		return -n.i
	}
	return n.i
}

func ceil(a any) any  { return int64(math.Ceil(toNumber(a).float())) }
func floor(a any) any { return int64(math.Floor(toNumber(a).float())) }

// round rounds half away from zero, as Ruby does; with no places it gives
// an Integer.
func round(a, places any) any {
	n := toNumber(a)
	p := toNumber(places).i
	if p <= 0 {
		return int64(math.Round(n.float()))
	}
	if !n.isFloat {
		return n.i
	}
	exp := math.Pow10(int(p))
	return math.Round(n.f*exp) / exp
}

func atLeast(a, b any) any {
	x, y := toNumber(a), toNumber(b)
	if y.float() > x.float() {
		return y.value()
	}
	return x.value()
}

func atMost(a, b any) any {
	x, y := toNumber(a), toNumber(b)
	if y.float() < x.float() {
		return y.value()
	}
	return x.value()
}

// numberWithDelimiter puts a comma between thousands of the integer part,
// as Rails' number_with_delimiter; a value that is not a number is returned
// unchanged.
func numberWithDelimiter(a any) any {
	s := toS(a)
	if _, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
		return a
	}
	s = strings.TrimSpace(s)
	intPart, frac, hasFrac := strings.Cut(s, ".")
	sign := ""
	if strings.HasPrefix(intPart, "-") || strings.HasPrefix(intPart, "+") {
		sign, intPart = intPart[:1], intPart[1:]
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := sign + b.String()
	if hasFrac {
		out += "." + frac
	}
	return out
}
