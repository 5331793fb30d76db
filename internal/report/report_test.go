package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// want describes what a sample must parse to. Cases lists every case as
// "Name=STATUS" in order; Check spot-tests fields of single cases.
type want struct {
	total, succeeded, failed, skipped, errors int
	duration                                  time.Duration
	cases                                     []string
	check                                     func(t *testing.T, cs []TestCase)
}

func TestParseSamples(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		want   want
	}{
		{"surefire.xml", JUnitXML, want{
			total: 5, succeeded: 2, failed: 1, skipped: 1, errors: 1,
			duration: 21*time.Millisecond + 105*time.Millisecond + 3*time.Millisecond + 1234500*time.Millisecond,
			cases: []string{"totalsLineItems=SUCCEEDED", "appliesDiscount=FAILED", "rejectsNegativeQuantity=ERROR",
				"exportsPdf=SKIPPED", "retriesFlakyGateway=SUCCEEDED"},
			check: func(t *testing.T, cs []TestCase) {
				c := cs[1]
				eq(t, "suite", c.Suite, "com.example.billing.InvoiceTest")
				eq(t, "class", c.Class, "com.example.billing.InvoiceTest")
				prefix(t, "message", c.Message, "expected: <90.00> but was: <100.00>\norg.opentest4j.AssertionFailedError")
				contains(t, "message", c.Message, "InvoiceTest.java:42")
				eq(t, "output", c.Output, "computing discount for customer 42")
				eq(t, "skip message", cs[3].Message, "PDF export disabled on CI")
				eq(t, "flaky output", cs[4].Output, "") // the rerun's output is not the test's
				eq(t, "flaky message", cs[4].Message, "")
			},
		}},
		{"pytest.xml", JUnitXML, want{
			total: 6, succeeded: 2, failed: 1, skipped: 2, errors: 1,
			duration: (1 + 2 + 410 + 0 + 3 + 120) * time.Millisecond,
			cases: []string{"test_empty_input=SUCCEEDED", "test_unicode[é]=SUCCEEDED", "test_large_file=FAILED",
				"test_network=SKIPPED", "test_known_bug=SKIPPED", "test_connect=ERROR"},
			check: func(t *testing.T, cs []TestCase) {
				eq(t, "suite", cs[2].Suite, "pytest")
				eq(t, "class", cs[2].Class, "tests.test_parser")
				prefix(t, "message", cs[2].Message, "AssertionError: assert 3 == 4\n +  where 3")
				contains(t, "message", cs[2].Message, "tests/test_parser.py:31: AssertionError")
				contains(t, "output", cs[2].Output, "parsing 3 items")
				eq(t, "skip", cs[3].Message, "needs network\n/src/tests/test_parser.py:40: needs network")
			},
		}},
		{"go-junit-report.xml", JUnitXML, want{
			total: 4, succeeded: 2, failed: 1, skipped: 1,
			duration: 1210 * time.Millisecond,
			cases:    []string{"TestAdd=SUCCEEDED", "TestRemove/missing_item=FAILED", "TestCheckout=SKIPPED", "TestRound=SUCCEEDED"},
			check: func(t *testing.T, cs []TestCase) {
				eq(t, "suite", cs[3].Suite, "github.com/acme/shop/price")
				eq(t, "message", cs[1].Message, "Failed\ncart_test.go:48: Remove(\"sku-9\") = nil, want ErrNotFound")
			},
		}},
		{"jest-junit.xml", JUnitXML, want{
			total: 4, succeeded: 2, failed: 1, skipped: 1,
			duration: (34 + 12 + 4) * time.Millisecond,
			cases: []string{"Button renders a label=SUCCEEDED", "Button calls onClick=FAILED",
				"Button is disabled while loading=SKIPPED", "formatPrice pads cents=SUCCEEDED"},
			check: func(t *testing.T, cs []TestCase) {
				eq(t, "file", cs[1].File, "src/components/Button.test.tsx")
				prefix(t, "message", cs[1].Message, "Error: expect(jest.fn())")
				eq(t, "nested suite", cs[3].Suite, "formatPrice")
			},
		}},
		{"cucumber.json", CucumberJSON, want{
			total: 4, succeeded: 1, failed: 1, skipped: 1, errors: 1,
			duration: 1500*time.Microsecond + 100*time.Microsecond + 500*time.Millisecond +
				1500*time.Microsecond + 50*time.Millisecond + time.Millisecond,
			cases: []string{"Pay by card=SUCCEEDED", "Pay by voucher=FAILED", "Partial refund=ERROR", "Refund later=SKIPPED"},
			check: func(t *testing.T, cs []TestCase) {
				eq(t, "suite", cs[0].Suite, "Checkout")
				eq(t, "file", cs[0].File, "features/checkout.feature")
				eq(t, "output", cs[0].Output, "order 1001 paid")
				eq(t, "duration", cs[0].Duration, 501600*time.Microsecond)
				prefix(t, "message", cs[1].Message, "When I pay with voucher \"XMAS\" (failed)\nexpected voucher to be valid")
				eq(t, "message", cs[2].Message, "When I refund half (undefined)")
				eq(t, "suite", cs[3].Suite, "Refund")
			},
		}},
		{"testng-results.xml", TestNGXML, want{
			total: 4, succeeded: 2, failed: 1, skipped: 1,
			duration: (812 + 1101 + 7) * time.Millisecond,
			cases:    []string{"createsOrder=SUCCEEDED", "cancelsOrder=FAILED", "isHealthy=SUCCEEDED", "reportsVersion=SKIPPED"},
			check: func(t *testing.T, cs []TestCase) {
				eq(t, "suite", cs[0].Suite, "API")
				eq(t, "class", cs[0].Class, "com.example.api.OrderApiTest")
				eq(t, "output", cs[0].Output, "POST /orders -> 201")
				prefix(t, "message", cs[1].Message, "java.lang.AssertionError: expected [CANCELLED] but found [OPEN]\n\tat org.testng")
				eq(t, "skip", cs[3].Message, "org.testng.SkipException: version endpoint not deployed")
				eq(t, "class", cs[3].Class, "com.example.api.HealthTest")
			},
		}},
		{"nunit2.xml", NUnitXML, want{
			total: 5, succeeded: 2, failed: 1, skipped: 1, errors: 1,
			duration: (12 + 30 + 2 + 1) * time.Millisecond,
			cases:    []string{"Adds=SUCCEEDED", "Divides=FAILED", "Overflows=ERROR", "Sqrt=SKIPPED", "Rounds(1.5d,2)=SUCCEEDED"},
			check: func(t *testing.T, cs []TestCase) {
				eq(t, "suite", cs[0].Suite, "CalculatorTests")
				eq(t, "class", cs[0].Class, "Acme.CalculatorTests")
				prefix(t, "message", cs[1].Message, "Expected: 2.5d\n  But was:  2.0d\nat Acme.CalculatorTests.Divides()")
				eq(t, "reason", cs[3].Message, "not implemented yet")
				eq(t, "param suite", cs[4].Suite, "CalculatorTests")
				eq(t, "param class", cs[4].Class, "Acme.CalculatorTests")
			},
		}},
		{"nunit3.xml", NUnit3XML, want{
			total: 6, succeeded: 2, failed: 1, skipped: 1, errors: 1,
			duration: (15 + 250 + 3 + 1 + 2) * time.Millisecond,
			cases: []string{"AddsItem=SUCCEEDED", "RemovesItem=FAILED", "Checkout=ERROR", "AppliesCoupon=SKIPPED",
				"Shipping=UNKNOWN", "Totals(1,2)=SUCCEEDED"},
			check: func(t *testing.T, cs []TestCase) {
				eq(t, "suite", cs[1].Suite, "CartTests")
				eq(t, "class", cs[1].Class, "Acme.CartTests")
				eq(t, "message", cs[1].Message, "Expected: 0\n  But was:  1\nat Acme.CartTests.RemovesItem() in /build/Acme.Tests/CartTests.cs:line 30")
				eq(t, "output", cs[1].Output, "cart has 1 item(s)")
				eq(t, "reason", cs[3].Message, "coupons not ready")
				eq(t, "param suite", cs[5].Suite, "CartTests")
			},
		}},
		{"results.trx", VisualStudioTRX, want{
			total: 6, succeeded: 3, failed: 1, skipped: 1, errors: 1,
			duration: 12345600*time.Nanosecond + 1500*time.Millisecond + 3*time.Millisecond + time.Minute,
			cases: []string{"IndexReturnsView=SUCCEEDED", "AboutReturnsVersion=FAILED", "ContactSendsMail=SKIPPED",
				"Rounds (Data Row 0)=SUCCEEDED", "Rounds (Data Row 1)=SUCCEEDED", "Acme.Web.Tests.PriceTests.SlowQuote=ERROR"},
			check: func(t *testing.T, cs []TestCase) {
				eq(t, "suite", cs[0].Suite, "Acme.Web.Tests.dll")
				eq(t, "class", cs[0].Class, "Acme.Web.Tests.HomeControllerTests")
				eq(t, "output", cs[0].Output, "rendering Index")
				eq(t, "output", cs[1].Output, "calling /about\nwarning: no version file")
				prefix(t, "message", cs[1].Message, "Assert.Equal() Failure\nExpected: 1.2.0\nActual:   (null)\nat Acme")
				eq(t, "class", cs[3].Class, "Acme.Web.Tests.PriceTests")
				eq(t, "suite", cs[3].Suite, "Acme.Web.Tests.dll")
				eq(t, "undefined class", cs[5].Class, "")
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := Parse(tt.format, tt.file, f)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			w := tt.want
			if w.errors+w.failed+w.skipped+w.succeeded > w.total {
				t.Fatal("bad test: counts exceed total")
			}
			got := [6]int{r.Total, r.Succeeded, r.Failed, r.Skipped, r.Errors, len(r.Cases)}
			exp := [6]int{w.total, w.succeeded, w.failed, w.skipped, w.errors, len(w.cases)}
			if got != exp {
				t.Errorf("counts (total, succeeded, failed, skipped, errors, cases) = %v, want %v", got, exp)
			}
			if r.Format != tt.format {
				t.Errorf("Format = %q, want %q", r.Format, tt.format)
			}
			if r.Duration != w.duration {
				t.Errorf("Duration = %v, want %v", r.Duration, w.duration)
			}
			var names []string
			for _, c := range r.Cases {
				names = append(names, c.Name+"="+string(c.Status))
			}
			if strings.Join(names, "\n") != strings.Join(w.cases, "\n") {
				t.Fatalf("cases:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(w.cases, "\n"))
			}
			if w.check != nil {
				w.check(t, r.Cases)
			}
		})
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, any(got), any(want))
	}
}

func prefix(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.HasPrefix(got, want) {
		t.Errorf("%s = %q, want prefix %q", what, got, want)
	}
}

func contains(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%s = %q, want it to contain %q", what, got, want)
	}
}
