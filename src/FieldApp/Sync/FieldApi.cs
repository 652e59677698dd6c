using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.FieldApp.Localization;
using WorkOrders.FieldApp.Storage;

namespace WorkOrders.FieldApp.Sync;

/// <summary>The server said no: its problem text (in the app's language), or the HTTP status when it gave none.</summary>
public sealed class FieldApiException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
}

/// <summary>The field API over HTTP. Network failures surface as <see cref="HttpRequestException"/> (offline).</summary>
public sealed class FieldApi(HttpClient http, FieldData data, Texts texts)
{
    /// <summary>Signs in once with a user name and password and registers this device; afterwards only the device credential is used.</summary>
    public async Task<DeviceState> RegisterAsync(string userName, string password, string deviceName, CancellationToken cancellationToken)
    {
        using var login = Request(HttpMethod.Post, "/api/v1/auth/login", null);
        login.Content = JsonContent.Create(new SignInRequest(userName, password), options: FieldJson.Options);
        var token = await SendAsync<TokenResponse>(login, cancellationToken);
        using var register = Request(HttpMethod.Post, "/api/v1/devices", null);
        register.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        register.Content = JsonContent.Create(new RegisterDeviceRequest(deviceName), options: FieldJson.Options);
        var device = await SendAsync<DeviceCredential>(register, cancellationToken);
        return new DeviceState(device.DeviceId, device.Credential, userName, device.ExpiresAt);
    }

    public async Task<TripPack> TripPackAsync(int days, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, $"/api/v1/field/trip-pack?days={days}", Device());
        return await SendAsync<TripPack>(request, cancellationToken);
    }

    public async Task<SyncBatchResult> SendAsync(SyncBatch batch, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Post, "/api/v1/sync/commands", Device());
        request.Content = JsonContent.Create(batch, options: FieldJson.Options);
        return await SendAsync<SyncBatchResult>(request, cancellationToken);
    }

    public async Task<ChangeSet> ChangesAsync(string? cursor, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, $"/api/v1/sync/changes?cursor={Uri.EscapeDataString(cursor ?? "")}", Device());
        return await SendAsync<ChangeSet>(request, cancellationToken);
    }

    private DeviceState Device() => data.Device ?? throw new FieldApiException(HttpStatusCode.Unauthorized, texts["sign_in_needed"]);

    private HttpRequestMessage Request(HttpMethod method, string path, DeviceState? device)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.AcceptLanguage.Add(new StringWithQualityHeaderValue(texts.Language));
        if (device is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Device", device.Credential);
        }

        return request;
    }

    private async Task<T> SendAsync<T>(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return (await response.Content.ReadFromJsonAsync<T>(FieldJson.Options, cancellationToken))!;
        }

        Problem? problem = null;
        if (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) == true)
        {
            problem = await response.Content.ReadFromJsonAsync<Problem>(FieldJson.Options, cancellationToken);
        }

        var message = problem?.Detail ?? problem?.Title ?? $"{(int)response.StatusCode} {response.ReasonPhrase}";
        throw new FieldApiException(response.StatusCode, message);
    }
}
