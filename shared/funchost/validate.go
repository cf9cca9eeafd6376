package funchost

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/robfig/cron/v3"
)

// validate checks what the local host needs to run a function. Values that
// name an app setting (%NAME%) are checked once ResolveSettings has
// replaced them.
func validate(fn Function) error {
	t := fn.Trigger
	if t.Name == "" {
		return fmt.Errorf("%s binding has no name", t.Type)
	}
	if !strings.EqualFold(t.Direction, "in") {
		return fmt.Errorf("%s binding %q: direction %q, want \"in\"", t.Type, t.Name, t.Direction)
	}
	var err error
	switch {
	case strings.EqualFold(t.Type, TypeServiceBusTrigger):
		err = validateServiceBus(t)
	case strings.EqualFold(t.Type, TypeTimerTrigger):
		err = validateTimer(t)
	case strings.EqualFold(t.Type, TypeHTTPTrigger):
		err = validateHTTP(fn)
	default:
		return fmt.Errorf("unknown trigger type %q (the local host runs %s, %s and %s)",
			t.Type, TypeServiceBusTrigger, TypeTimerTrigger, TypeHTTPTrigger)
	}
	if err != nil {
		return err
	}
	return validateOutputs(fn)
}

func validateServiceBus(t Binding) error {
	if t.TopicName != "" {
		return fmt.Errorf("serviceBusTrigger %q: topic subscriptions are not supported by the local host; use queueName", t.Name)
	}
	if t.QueueName == "" {
		return fmt.Errorf("serviceBusTrigger %q has no queueName", t.Name)
	}
	// The handlers read string bodies; a binary input would arrive base64.
	if t.DataType != "" && !strings.EqualFold(t.DataType, "string") {
		return fmt.Errorf("serviceBusTrigger %q: dataType %q is not supported (only string)", t.Name, t.DataType)
	}
	return nil
}

func validateTimer(t Binding) error {
	if t.Schedule == "" {
		return fmt.Errorf("timerTrigger %q has no schedule", t.Name)
	}
	if hasSettingRef(t.Schedule) {
		return nil
	}
	return checkSchedule(t)
}

// scheduleParser accepts exactly the six-field NCRONTAB form (seconds
// first) the Functions host uses; no descriptors such as @every.
func scheduleParser() cron.Parser {
	return cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
}

func checkSchedule(t Binding) error {
	if n := len(strings.Fields(t.Schedule)); n != 6 {
		return fmt.Errorf("timerTrigger %q: schedule %q has %d fields, want six (NCRONTAB: second minute hour day month day-of-week)", t.Name, t.Schedule, n)
	}
	if _, err := scheduleParser().Parse(t.Schedule); err != nil {
		return fmt.Errorf("timerTrigger %q: bad schedule %q: %w", t.Name, t.Schedule, err)
	}
	return nil
}

func validateHTTP(fn Function) error {
	t := fn.Trigger
	for _, m := range t.Methods {
		if !knownMethod(m) {
			return fmt.Errorf("httpTrigger %q: unknown method %q", t.Name, m)
		}
	}
	switch strings.ToLower(t.AuthLevel) {
	case "", "anonymous", "function", "admin":
	default:
		return fmt.Errorf("httpTrigger %q: authLevel %q, want anonymous, function or admin", t.Name, t.AuthLevel)
	}
	if _, ok := fn.HTTPOutput(); !ok {
		return fmt.Errorf("httpTrigger %q has no http output binding to answer with", t.Name)
	}
	if hasSettingRef(t.Route) {
		return nil
	}
	_, err := parseRoute(routeOf(fn))
	return err
}

func knownMethod(m string) bool {
	switch strings.ToUpper(m) {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// validateOutputs refuses output bindings the local host would silently
// drop: galsync's handlers send to queues themselves.
func validateOutputs(fn Function) error {
	var errs []error
	for _, o := range fn.Outputs {
		if !strings.EqualFold(o.Direction, "out") {
			errs = append(errs, fmt.Errorf("input binding %q of type %q is not supported by the local host", o.Name, o.Type))
			continue
		}
		if !strings.EqualFold(o.Type, TypeHTTP) {
			errs = append(errs, fmt.Errorf("output binding %q of type %q is not supported by the local host", o.Name, o.Type))
			continue
		}
		if !strings.EqualFold(fn.Trigger.Type, TypeHTTPTrigger) {
			errs = append(errs, fmt.Errorf("http output binding %q needs an httpTrigger", o.Name))
		}
	}
	return errors.Join(errs...)
}
