package scene

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// probePod is admitted in team-limits (LimitRange defaults apply); a dry
// run, so it never needs its image.
const probePod = `apiVersion: v1
kind: Pod
metadata:
  generateName: probe-
  namespace: team-limits
spec:
  containers:
  - name: app
    image: registry.k8s.io/pause:3.10
`

// admitLoop sends dry-run Pod creates through the chart's Service until
// stop is closed, counting successes and failures.
type admitLoop struct {
	ok, failed atomic.Int64
	first      atomic.Value
	stop       chan struct{}
	wg         sync.WaitGroup
}

func (s *Scene) startAdmitLoop(ctx context.Context) *admitLoop {
	l := &admitLoop{stop: make(chan struct{})}
	l.wg.Go(func() {
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			o, err := s.Apply(ctx, probePod, true)
			if err != nil || !o.Allowed || o.Pod.Annotations[annotationDefaulted] == "" {
				l.failed.Add(1)
				l.first.CompareAndSwap(nil, fmt.Sprintf("%v %v", o, err))
				continue
			}
			l.ok.Add(1)
		}
	})
	return l
}

func (l *admitLoop) finish() (ok, failed int64, first any) {
	close(l.stop)
	l.wg.Wait()
	return l.ok.Load(), l.failed.Load(), l.first.Load()
}

// LoseReplica deletes one replica, as a node drain or a crash would, while
// Pod creates keep flowing, and waits for the Deployment to replace it.
// Every admission must succeed: the other replica serves behind the Service.
func (s *Scene) LoseReplica(ctx context.Context) error {
	pods, err := s.WaitReplicas(ctx, 2)
	if err != nil {
		return err
	}
	victim := pods[0].Name
	loop := s.startAdmitLoop(ctx)
	time.Sleep(2 * time.Second) // admissions flowing before the loss, so the loss happens under load
	begin := time.Now()
	if err := s.API.Client.CoreV1().Pods(Namespace).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		loop.finish()
		return fmt.Errorf("delete replica %s: %w", victim, err)
	}
	after, err := s.WaitReplicas(ctx, 2)
	took := since(begin)
	if err == nil {
		target := loop.ok.Load() + 10 // and on the new pair for a while
		err = s.Eventually(ctx, "admissions after the replacement", func(context.Context) error {
			if loop.ok.Load() < target {
				return fmt.Errorf("%d admitted", loop.ok.Load())
			}
			return nil
		})
	}
	ok, failed, first := loop.finish()
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d admissions failed while replica %s was replaced; first: %v", failed, ok+failed, victim, first)
	}
	s.Log("kubectl delete pod %s: replaced by %s in %s; %d Pod creates admitted through the Service meanwhile, 0 failed",
		victim, newNames(after, pods), took, ok)
	return nil
}

// newNames lists the Pods of after that were not in before.
func newNames(after, before []corev1.Pod) []string {
	old := map[string]bool{}
	for _, p := range before {
		old[p.Name] = true
	}
	var out []string
	for _, p := range after {
		if !old[p.Name] {
			out = append(out, p.Name)
		}
	}
	return out
}

// unchanged checks that after holds the same Pods as before, none restarted.
func unchanged(before, after []corev1.Pod) error {
	if fresh := newNames(after, before); len(fresh) > 0 {
		return fmt.Errorf("pods replaced: new %v", fresh)
	}
	for _, p := range after {
		if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
			return fmt.Errorf("pod %s restarted %d times", p.Name, n)
		}
	}
	return nil
}
