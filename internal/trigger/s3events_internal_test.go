package trigger

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// awsPut is an S3 event message of the shape of the example in Amazon S3's
// "Event message structure" (docs.aws.amazon.com/AmazonS3/latest/userguide/
// notification-content-structure.html), version 2.1, for a PutObject of a
// key with a space, which S3 URL-encodes.
const awsPut = `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-west-2",
"eventTime":"1970-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put",
"userIdentity":{"principalId":"AIDAJDPLRKLG7UEXAMPLE"},
"requestParameters":{"sourceIPAddress":"127.0.0.1"},
"responseElements":{"x-amz-request-id":"C3D13FE58DE4C810","x-amz-id-2":"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
"s3":{"s3SchemaVersion":"1.0","configurationId":"testConfigRule",
"bucket":{"name":"amzn-s3-demo-bucket","ownerIdentity":{"principalId":"A3NL1KOZZKExample"},"arn":"arn:aws:s3:::amzn-s3-demo-bucket"},
"object":{"key":"release+build.zip","size":1024,"eTag":"d41d8cd98f00b204e9800998ecf8427e","versionId":"096fKKXTRTtl3on89fVO.nfljtsv6qko","sequencer":"0055AED6DCD90281E5"}}}]}`

func TestParseS3Message(t *testing.T) {
	recs, note, err := parseS3Message([]byte(awsPut), 0)
	if err != nil || note != "" || len(recs) != 1 {
		t.Fatalf("AWS's message: %v %q %+v", err, note, recs)
	}
	r := recs[0]
	if r.Event != "ObjectCreated:Put" || !r.created() || r.Bucket != "amzn-s3-demo-bucket" || r.VersionID != "096fKKXTRTtl3on89fVO.nfljtsv6qko" ||
		r.ETag != "d41d8cd98f00b204e9800998ecf8427e" || r.Sequencer != "0055AED6DCD90281E5" || r.Size != 1024 {
		t.Errorf("record %+v", r)
	}
	if strings.Join(r.Keys, "|") != "release+build.zip|release build.zip" {
		t.Errorf("keys %q, want the key as sent and URL-decoded", r.Keys)
	}

	// SNS's envelope around the same message.
	env, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "x", "TopicArn": "arn:aws:sns:us-west-2:123456789012:drops", "Message": awsPut})
	recs, _, err = parseS3Message(env, 0)
	if err != nil || len(recs) != 1 || recs[0].VersionID != r.VersionID {
		t.Errorf("SNS notification: %v %+v", err, recs)
	}

	// versitygw: "s3:" before the event name, a quoted ETag, no version.
	vgw := `{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a b.zip","eTag":"\"abc\"","versionId":null,"sequencer":"1"}}}]}`
	recs, _, err = parseS3Message([]byte(vgw), 0)
	if err != nil || recs[0].Event != "ObjectCreated:Put" || recs[0].ETag != "abc" || recs[0].VersionID != "" || len(recs[0].Keys) != 1 {
		t.Errorf("versitygw's message: %v %+v", err, recs)
	}

	// EventBridge's Object Created event.
	eb := `{"version":"0","id":"17793124-05d4-b198-2fde-7ededc63b103","detail-type":"Object Created","source":"aws.s3",
"account":"123456789012","time":"2021-11-12T00:00:00Z","region":"ca-central-1","resources":["arn:aws:s3:::example-bucket"],
"detail":{"version":"0","bucket":{"name":"example-bucket"},"object":{"key":"example-key","size":5,"etag":"b1946ac92492d2347c6235b4d2611184","version-id":"IYV3p45BT0ac8hjHg1houSdS1a.Mro8e","sequencer":"617f08299329d189"},
"request-id":"N4N7GDK58NMKJ12R","requester":"123456789012","source-ip-address":"1.2.3.4","reason":"PutObject"}}`
	recs, _, err = parseS3Message([]byte(eb), 0)
	if err != nil || recs[0].Event != "ObjectCreated:PutObject" || recs[0].VersionID != "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e" || recs[0].Key() != "example-key" {
		t.Errorf("EventBridge event: %v %+v", err, recs)
	}

	for _, c := range []struct{ body, note, err string }{
		{`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2014-10-13T15:57:02.089Z","Bucket":"b"}`, "s3:TestEvent starts nothing", ""},
		{`{"Type":"SubscriptionConfirmation","SubscribeURL":"https://sns.example/confirm"}`, "does not visit its SubscribeURL", ""},
		{`{"source":"aws.s3","detail-type":"Object Deleted","detail":{}}`, `"Object Deleted" event starts nothing`, ""},
		{`not json`, "", "not JSON"},
		{`{"hello":1}`, "", "neither an S3 event message"},
		{`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{}}}]}`, "", "Records[0]: eventName, s3.bucket.name and s3.object.key are required"},
		{`{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{\\\"Type\\\":\\\"Notification\\\",\\\"Message\\\":\\\"{}\\\"}\"}"}`, "", "nest too deep"},
	} {
		_, note, err := parseS3Message([]byte(c.body), 0)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.body, err, c.err)
		case c.err == "" && (err != nil || !strings.Contains(note, c.note)):
			t.Errorf("%s: %v, note %q, want %q", c.body, err, note, c.note)
		}
	}
}

func TestCheckStoreToken(t *testing.T) {
	secret := []byte("s3cret")
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct{ auth, want string }{
		{"Basic " + b64("sluice:s3cret"), ""},
		{"basic " + b64(":s3cret"), ""},
		{"Bearer s3cret", ""},
		{"", "carries no credentials"},
		{"Basic " + b64("s3cret"), "do not match"}, // the secret as the user name, no password
		{"Basic " + b64("sluice:s3cre"), "do not match"},
		{"Basic !!", "do not decode"},
		{"Bearer s3cretX", "do not match"},
		{"Digest s3cret", "not basic or bearer"},
	} {
		h := http.Header{}
		if c.auth != "" {
			h.Set("Authorization", c.auth)
		}
		err := checkStoreToken(h, secret)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q: %v, want %q", c.auth, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: the error shows the secret: %v", c.auth, err)
		}
	}
}
