using System.Globalization;
using System.Text;
using WorkOrders.Ticketing.Notifications;
using WorkOrders.Ticketing.Webhooks;

namespace WorkOrders.Ticketing.Tests.Delivery;

public sealed class DeliveryRulesTests
{
    private static readonly DateTime Now = new(2026, 5, 6, 7, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData("ftp://example.com/hook")]
    [InlineData("file:///etc/passwd")]
    [InlineData("/relative/hook")]
    [InlineData("example.com/hook")]
    [InlineData("javascript:alert(1)")]
    [InlineData("http://")]
    [InlineData("")]
    [InlineData(null)]
    public void webhook_urls_that_are_not_absolute_http_or_https_are_refused_naming_the_url_field(string? url)
    {
        var failure = WebhookSubscriptions.Validate(new WebhookRequest(url, "*"), creating: true).ToFailure();

        Assert.Equal(["url"], failure.Errors!.Keys);
        Assert.Contains("http", failure.Texts(CultureInfo.InvariantCulture)["url"][0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("https://hooks.example.com/work-orders?token=1")]
    public void absolute_http_and_https_urls_are_accepted(string url) =>
        Assert.False(WebhookSubscriptions.Validate(new WebhookRequest(url, "created"), creating: true).Any);

    [Fact]
    public void an_event_kind_must_be_a_history_kind_or_a_star_and_a_supplied_secret_long_enough()
    {
        var errors = WebhookSubscriptions.Validate(new WebhookRequest("https://x.example/h", "Created!", "short"), creating: true).ToFailure().Texts(CultureInfo.InvariantCulture);

        Assert.Equal(["eventKind", "secret"], errors.Keys.Order());
        Assert.Contains("'*'", errors["eventKind"][0], StringComparison.Ordinal);
        Assert.False(WebhookSubscriptions.Validate(new WebhookRequest("https://x.example/h", "*"), creating: true).Any);
    }

    [Fact]
    public void an_event_kind_the_product_never_emits_is_refused_naming_the_value_and_each_kind_it_emits_is_taken()
    {
        var errors = WebhookSubscriptions.Validate(new WebhookRequest("https://x.example/h", "resolvd"), creating: true).ToFailure();

        Assert.Equal("webhook.event_kind_unknown", Assert.Single(errors.Errors!["eventKind"]).Code);
        Assert.Contains("'resolvd'", errors.Texts(CultureInfo.InvariantCulture)["eventKind"][0], StringComparison.Ordinal);
        Assert.All(WorkOrders.EventKinds.All, kind => Assert.False(WebhookSubscriptions.Validate(new WebhookRequest("https://x.example/h", kind), creating: true).Any, kind));
        Assert.Contains("resolve", WorkOrders.EventKinds.All);
        Assert.Contains("sla_breach", WorkOrders.EventKinds.All);
    }

    [Fact]
    public void a_url_with_a_password_in_it_is_refused()
    {
        var errors = WebhookSubscriptions.Validate(new WebhookRequest("https://user:pw@x.example/h", "*"), creating: true).ToFailure().Texts(CultureInfo.InvariantCulture);
        Assert.Equal(["url"], errors.Keys);
    }

    [Fact]
    public void the_signature_is_the_hex_hmac_sha256_of_the_body_with_the_secret()
    {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        var signature = WebhookSignature.Sign("Jefe", Encoding.UTF8.GetBytes("what do ya want for nothing?"));

        Assert.Equal("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", signature);
        Assert.True(WebhookSignature.Verify("Jefe", Encoding.UTF8.GetBytes("what do ya want for nothing?"), signature));
        Assert.False(WebhookSignature.Verify("Jefe", Encoding.UTF8.GetBytes("what do ya want for nothing!"), signature));
        Assert.False(WebhookSignature.Verify("Jefe", Encoding.UTF8.GetBytes("what do ya want for nothing?"), null));
    }

    [Fact]
    public void a_generated_secret_is_64_hex_characters_and_never_the_same_twice()
    {
        var (a, b) = (WebhookSignature.NewSecret(), WebhookSignature.NewSecret());
        Assert.Matches("^[0-9a-f]{64}$", a);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void retries_wait_the_first_delay_then_grow_by_the_factor_up_to_the_longest_pause_and_stop_after_the_last_attempt()
    {
        var policy = new RetryPolicy(TimeSpan.FromSeconds(30), 2, MaxAttempts: 6, MaxDelay: TimeSpan.FromMinutes(3));

        var waits = Enumerable.Range(1, 5).Select(n => Retry.AfterFailure(n, Now, policy)).ToList();

        Assert.All(waits, w => Assert.False(w.GiveUp));
        Assert.Equal([30, 60, 120, 180, 180], waits.Select(w => (w.NextAttemptAt - Now).TotalSeconds));
        Assert.True(Retry.AfterFailure(6, Now, policy).GiveUp);
        Assert.True(Retry.AfterFailure(1, Now, policy with { MaxAttempts = 1 }).GiveUp);
    }
}
