package config

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// validateLimits checks what the API server checks for a LimitRange item,
// so a profile cannot hold something a LimitRange could not.
func validateLimits(where string, items []corev1.LimitRangeItem) []error {
	var errs []error
	for i, it := range items {
		at := fmt.Sprintf("%s[%d]", where, i)
		switch it.Type {
		case corev1.LimitTypeContainer, corev1.LimitTypePod:
		default:
			errs = append(errs, fmt.Errorf("%s.type: %q is not Container or Pod", at, it.Type))
			continue
		}
		if it.Type == corev1.LimitTypePod && (len(it.Default) > 0 || len(it.DefaultRequest) > 0) {
			errs = append(errs, fmt.Errorf("%s: default and defaultRequest are not allowed for type Pod", at))
		}
		for name, def := range it.Default {
			if mx, ok := it.Max[name]; ok && def.Cmp(mx) > 0 {
				errs = append(errs, fmt.Errorf("%s.default[%s]: %s is above max %s", at, name, def.String(), mx.String()))
			}
			if mn, ok := it.Min[name]; ok && def.Cmp(mn) < 0 {
				errs = append(errs, fmt.Errorf("%s.default[%s]: %s is below min %s", at, name, def.String(), mn.String()))
			}
		}
		for name, req := range it.DefaultRequest {
			if def, ok := it.Default[name]; ok && req.Cmp(def) > 0 {
				errs = append(errs, fmt.Errorf("%s.defaultRequest[%s]: %s is above default %s", at, name, req.String(), def.String()))
			}
			if mx, ok := it.Max[name]; ok && req.Cmp(mx) > 0 {
				errs = append(errs, fmt.Errorf("%s.defaultRequest[%s]: %s is above max %s", at, name, req.String(), mx.String()))
			}
			if mn, ok := it.Min[name]; ok && req.Cmp(mn) < 0 {
				errs = append(errs, fmt.Errorf("%s.defaultRequest[%s]: %s is below min %s", at, name, req.String(), mn.String()))
			}
		}
		for name, mn := range it.Min {
			if mx, ok := it.Max[name]; ok && mn.Cmp(mx) > 0 {
				errs = append(errs, fmt.Errorf("%s.min[%s]: %s is above max %s", at, name, mn.String(), mx.String()))
			}
		}
		for name, r := range it.MaxLimitRequestRatio {
			if r.Sign() <= 0 || r.Cmp(onePointZero) < 0 {
				errs = append(errs, fmt.Errorf("%s.maxLimitRequestRatio[%s]: %s must be at least 1", at, name, r.String()))
			}
		}
		for _, list := range []corev1.ResourceList{it.Min, it.Max, it.Default, it.DefaultRequest} {
			for name, q := range list {
				if q.Sign() < 0 {
					errs = append(errs, fmt.Errorf("%s: %s %s is negative", at, name, q.String()))
				}
			}
		}
	}
	return errs
}

// onePointZero is the smallest valid maxLimitRequestRatio.
var onePointZero = resource.MustParse("1")
