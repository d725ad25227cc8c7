package quota

import (
	"math/big"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// kind is how a quota resource's quantities are shown to people.
type kind int

const (
	kindOther kind = iota // canonical Kubernetes form
	kindCores             // cpu: cores as a decimal, 0.5 rather than 500m
	kindBytes             // memory, storage, hugepages: Gi/Mi/Ki, exact
	kindCount             // pods, count/pods, extended resources: integers
)

// kindOf classifies a quota resource name.
func kindOf(name corev1.ResourceName) kind {
	s := strings.TrimPrefix(strings.TrimPrefix(string(name), "requests."), "limits.")
	switch {
	case s == string(corev1.ResourceCPU):
		return kindCores
	case s == string(corev1.ResourceMemory), s == string(corev1.ResourceEphemeralStorage),
		strings.HasPrefix(s, corev1.ResourceHugePagesPrefix):
		return kindBytes
	case name == corev1.ResourcePods, name == countPods, strings.HasPrefix(string(name), "requests."):
		return kindCount
	}
	return kindOther
}

// byteUnits are tried in order; the first that shows the value exactly with
// at most two decimals wins, so the text never rounds (1025Mi stays 1025Mi
// rather than becoming a misleading 1Gi, and 100M stays 100M).
var byteUnits = []struct {
	suffix string
	size   int64
}{
	{"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20},
	{"T", 1e12}, {"G", 1e9}, {"M", 1e6},
	{"Ki", 1 << 10}, {"k", 1e3},
}

// formatQuantity renders q for the resource name: cpu as cores ("0.5",
// "2", "0.25"), bytes in the largest exact unit ("1.5Gi", "512Mi", "100M"),
// counts as integers. Anything that cannot be shown exactly that way falls
// back to the canonical Kubernetes form.
func formatQuantity(name corev1.ResourceName, q resource.Quantity) string {
	if q.IsZero() {
		return "0"
	}
	switch kindOf(name) {
	case kindCores:
		m := q.MilliValue()
		if resource.NewMilliQuantity(m, resource.DecimalSI).Cmp(q) == 0 {
			return decimal(m, 1000)
		}
	case kindBytes:
		v := q.Value()
		if resource.NewQuantity(v, resource.BinarySI).Cmp(q) == 0 {
			return formatBytes(v)
		}
	case kindCount:
		v := q.Value()
		if resource.NewQuantity(v, resource.DecimalSI).Cmp(q) == 0 {
			return strconv.FormatInt(v, 10)
		}
	}
	return q.String()
}

// formatBytes picks the first exact unit from byteUnits.
func formatBytes(v int64) string {
	abs := v
	if abs < 0 {
		abs = -abs
	}
	for _, u := range byteUnits {
		if abs < u.size {
			continue
		}
		// exact with two decimals: v*100 is a multiple of the unit
		hundredths := new(big.Int).Mul(big.NewInt(v), big.NewInt(100))
		if new(big.Int).Rem(hundredths, big.NewInt(u.size)).Sign() == 0 {
			return decimal(new(big.Int).Quo(hundredths, big.NewInt(u.size)).Int64(), 100) + u.suffix
		}
	}
	return strconv.FormatInt(v, 10)
}

// decimal renders n/div (div a power of ten) without trailing zeros.
func decimal(n, div int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	whole, frac := n/div, n%div
	if frac == 0 {
		return sign + strconv.FormatInt(whole, 10)
	}
	digits := len(strconv.FormatInt(div, 10)) - 1
	f := strconv.FormatInt(frac, 10)
	f = strings.Repeat("0", digits-len(f)) + f
	return sign + strconv.FormatInt(whole, 10) + "." + strings.TrimRight(f, "0")
}

// percent is the share of hard that used represents, rounded down so that
// 89.9% never shows as 90%.
func percent(used, hard resource.Quantity) int64 {
	if hard.Sign() <= 0 {
		return 0
	}
	u, h := used.AsDec(), hard.AsDec()
	n := new(big.Int).Mul(u.UnscaledBig(), big.NewInt(100))
	d := new(big.Int).Set(h.UnscaledBig())
	// bring both to the same scale
	switch su, sh := int(u.Scale()), int(h.Scale()); {
	case su > sh:
		d.Mul(d, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(su-sh)), nil))
	case sh > su:
		n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(sh-su)), nil))
	}
	return new(big.Int).Quo(n, d).Int64()
}
