package defaults

import (
	"regexp"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// hugeExponentRE matches a quantity with a decimal exponent of three or more digits.
func hugeExponentRE() *regexp.Regexp { return regexp.MustCompile(`[eE][+-]?[0-9]{3,}`) }

// FuzzApply builds a Pod, a LimitRange and a profile from fuzzed quantities
// and resource names and checks that Apply and Validate do not panic and
// that Apply is idempotent, byte for byte.
func FuzzApply(f *testing.F) {
	f.Add("cpu", "100m", "1", "500m", "2", uint8(0b1011), "")
	f.Add("memory", "1Gi", "512Mi", "256Mi", "4", uint8(0xff), "cpu request for container c0")
	f.Add("nvidia.com/gpu", "1", "2", "0", "1.5", uint8(0b0110), "junk;;")
	f.Add("hugepages-2Mi", "", "1Gi", "-1", "x", uint8(0b11100), "cpu limit for init container c2")
	hugeExponent := hugeExponentRE()
	f.Fuzz(func(t *testing.T, name, q1, q2, q3, q4 string, shape uint8, ann string) {
		rn := corev1.ResourceName(name)
		list := func(q string) corev1.ResourceList {
			v, err := resource.ParseQuantity(q)
			if err != nil || hugeExponent.MatchString(q) {
				// Exponents like 1e1000000000 make apimachinery's own
				// quantity arithmetic (Cmp, Add) run for minutes; the API
				// server has the same exposure, so they are not ours to fuzz.
				return nil
			}
			return corev1.ResourceList{rn: v}
		}
		always := corev1.ContainerRestartPolicyAlways
		p := &corev1.Pod{}
		for i := 0; i < 3; i++ {
			c := corev1.Container{Name: "c" + string(rune('0'+i))}
			if shape&(1<<i) != 0 {
				c.Resources.Requests = list(q1)
			}
			if shape&(1<<(i+3)) != 0 {
				c.Resources.Limits = list(q2)
			}
			switch i {
			case 2:
				p.Spec.InitContainers = append(p.Spec.InitContainers, c)
			case 1:
				if shape&0x80 != 0 {
					c.RestartPolicy = &always
					p.Spec.InitContainers = append(p.Spec.InitContainers, c)
					continue
				}
				fallthrough
			default:
				p.Spec.Containers = append(p.Spec.Containers, c)
			}
		}
		if shape&0x40 != 0 {
			p.Annotations = map[string]string{AnnotationDefaulted: ann}
		}
		in := Inputs{
			LimitRanges: []corev1.LimitRange{{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
				{Type: corev1.LimitTypeContainer, Default: list(q3), Min: list(q1), Max: list(q4)},
				{Type: corev1.LimitTypePod, Max: list(q2), MaxLimitRequestRatio: list(q4)},
			}}}},
			Profiles: []Profile{{Name: "p", Limits: []corev1.LimitRangeItem{
				{Type: corev1.LimitTypeContainer, Default: list(q4), DefaultRequest: list(q3), MaxLimitRequestRatio: list(q2)},
			}}},
		}
		Apply(p, in)
		Validate(p, in)
		assertIdempotent(t, p, in)
	})
}
