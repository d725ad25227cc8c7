package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/loader"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
)

type evalOptions struct {
	file       string
	namespace  string
	clusters   []string
	configFile string
	policyDirs []string
	noBuiltin  bool
	output     string
}

func evalCommand(stdio IO) *cobra.Command {
	var o evalOptions
	cmd := &cobra.Command{
		Use:   "eval -f POD.yaml [-n NAMESPACE] [--cluster CLUSTER.yaml ...] [--config CONFIG.yaml] [-o json|yaml|text]",
		Short: "Run the admission pipeline (defaults, then limits, quota and policies) on a Pod offline",
		Long: `eval runs exactly what the webhooks run, on files instead of a cluster.
The input is a Pod or a full AdmissionReview; -f - reads standard input.
Cluster state (Namespaces, LimitRanges, ResourceQuotas with status.used) comes from --cluster files.
Exit code: 0 allowed, 1 denied, 2 bad input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEval(cmd, o, stdio)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "filename", "f", "", "Pod or AdmissionReview YAML/JSON file; - for standard input (required)")
	f.StringVarP(&o.namespace, "namespace", "n", "", "namespace of the Pod, when its metadata has none")
	f.StringArrayVar(&o.clusters, "cluster", nil, "multi-document YAML of Namespaces, LimitRanges and ResourceQuotas (repeatable)")
	f.StringVar(&o.configFile, "config", "", "Tollgate config file (default: built-in defaults)")
	f.StringArrayVar(&o.policyDirs, "policies", nil, "extra directory of .rego policies, e.g. a working copy (repeatable)")
	f.BoolVar(&o.noBuiltin, "no-builtin-policies", false, "do not load the policies shipped in the binary")
	f.StringVarP(&o.output, "output", "o", "text", "output format: json, yaml or text")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func runEval(cmd *cobra.Command, o evalOptions, stdio IO) error {
	switch o.output {
	case "json", "yaml", "text":
	default:
		return badInput(fmt.Errorf("-o %q: want json, yaml or text", o.output))
	}
	data, source, err := readInput(o.file, stdio.In)
	if err != nil {
		return badInput(err)
	}
	ar, err := admissionRequest(data, o.namespace)
	if err != nil {
		return badInput(fmt.Errorf("%s: %w", source, err))
	}
	facts := cluster.NewStatic()
	for _, path := range o.clusters {
		b, err := os.ReadFile(path)
		if err != nil {
			return badInput(fmt.Errorf("read cluster file: %w", err))
		}
		if err := facts.AddYAML(b, path); err != nil {
			return badInput(err)
		}
	}
	st, err := loader.Load(cmd.Context(), loader.Sources{ConfigFile: o.configFile, PolicyDirs: o.policyDirs, NoBuiltinPolicies: o.noBuiltin})
	if err != nil {
		return badInput(err)
	}
	out, err := pipeline.New(facts, st, pipeline.Options{}).Review(cmd.Context(), ar)
	if err != nil {
		return badInput(fmt.Errorf("%s: %w", source, err))
	}
	if err := printOutcome(stdio.Out, o.output, ar, out); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if !out.Allowed {
		return &exitError{code: ExitDenied}
	}
	return nil
}

func readInput(file string, stdin io.Reader) ([]byte, string, error) {
	if file == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, "", fmt.Errorf("read standard input: %w", err)
		}
		return b, "standard input", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("read input: %w", err)
	}
	return b, file, nil
}

// admissionRequest accepts a Pod (made into a CREATE request, as kubectl
// apply would send it) or a whole AdmissionReview.
func admissionRequest(data []byte, namespace string) (*admissionv1.AdmissionRequest, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	switch {
	case tm.Kind == "AdmissionReview":
		var review admissionv1.AdmissionReview
		if err := yaml.UnmarshalStrict(data, &review); err != nil {
			return nil, fmt.Errorf("decode AdmissionReview: %w", err)
		}
		if review.Request == nil {
			return nil, errors.New("AdmissionReview has no request")
		}
		if namespace != "" && review.Request.Namespace != namespace {
			return nil, fmt.Errorf("-n %s differs from the review's namespace %q", namespace, review.Request.Namespace)
		}
		return review.Request, nil
	case tm.Kind == "Pod" && (tm.APIVersion == "v1" || tm.APIVersion == ""):
	case tm.Kind == "":
		return nil, errors.New("no kind: want a Pod or an AdmissionReview")
	default:
		return nil, fmt.Errorf("kind %q (apiVersion %q): want a v1 Pod or an AdmissionReview", tm.Kind, tm.APIVersion)
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(data, &pod); err != nil {
		return nil, fmt.Errorf("decode Pod: %w", err)
	}
	switch {
	case pod.Namespace == "" && namespace == "":
		return nil, errors.New("the Pod has no metadata.namespace: pass -n NAMESPACE")
	case pod.Namespace == "":
		pod.Namespace = namespace
	case namespace != "" && namespace != pod.Namespace:
		return nil, fmt.Errorf("-n %s differs from the Pod's metadata.namespace %q", namespace, pod.Namespace)
	}
	pod.APIVersion, pod.Kind = "v1", "Pod"
	raw, err := json.Marshal(&pod)
	if err != nil {
		return nil, fmt.Errorf("encode Pod: %w", err)
	}
	return &admissionv1.AdmissionRequest{
		UID:       "eval",
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Namespace: pod.Namespace,
		Name:      pod.Name,
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: raw},
	}, nil
}

func printOutcome(w io.Writer, format string, ar *admissionv1.AdmissionRequest, out pipeline.Outcome) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case "yaml":
		b, err := yaml.Marshal(out)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	var b strings.Builder
	name := ar.Name
	if name == "" && out.Object != nil {
		name = out.Object.GenerateName + "*"
	}
	verdictWord := "ALLOWED"
	if !out.Allowed {
		verdictWord = "DENIED"
	}
	fmt.Fprintf(&b, "%s %s pod %q in namespace %q\n", verdictWord, strings.ToLower(string(ar.Operation)), name, ar.Namespace)
	if len(out.Patch) > 0 && out.Object != nil {
		fmt.Fprintf(&b, "  defaults set: %s\n", out.Object.Annotations[defaults.AnnotationDefaulted])
	}
	for _, r := range out.Reasons {
		fmt.Fprintf(&b, "  denied [%s] %s\n", r.Code, r.Message)
		if r.Path != "" {
			fmt.Fprintf(&b, "      at %s\n", r.Path)
		}
	}
	for _, warning := range out.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", warning)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
