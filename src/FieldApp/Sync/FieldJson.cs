using System.Text.Json;
using System.Text.Json.Serialization;
using WorkOrders.FieldApp.Contracts;
using WorkOrders.FieldApp.Storage;

namespace WorkOrders.FieldApp.Sync;

/// <summary>The wire format of the field API (camelCase, enums in snake_case) with source-made serializers, so trimming keeps them.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(TripPack))]
[JsonSerializable(typeof(ChangeSet))]
[JsonSerializable(typeof(SyncBatch))]
[JsonSerializable(typeof(SyncBatchResult))]
[JsonSerializable(typeof(SyncCommand))]
[JsonSerializable(typeof(RegisterDeviceRequest))]
[JsonSerializable(typeof(DeviceCredential))]
[JsonSerializable(typeof(TransitionPayload))]
[JsonSerializable(typeof(CommentPayload))]
[JsonSerializable(typeof(PhotoPayload))]
[JsonSerializable(typeof(RaisePayload))]
[JsonSerializable(typeof(MeterReadingPayload))]
[JsonSerializable(typeof(RoundPayload))]
[JsonSerializable(typeof(RoundStopPayload))]
[JsonSerializable(typeof(RoundResultPayload))]
[JsonSerializable(typeof(SignInRequest))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(DeviceState))]
[JsonSerializable(typeof(Progress))]
[JsonSerializable(typeof(List<ChangeNote>))]
[JsonSerializable(typeof(SyncState))]
[JsonSerializable(typeof(string))]
internal sealed partial class FieldJsonContext : JsonSerializerContext;

public static class FieldJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        TypeInfoResolver = FieldJsonContext.Default,
        Converters = { new JsonStringEnumConverter<CommandStatus>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary><c>POST /api/v1/auth/login</c>.</summary>
public sealed record SignInRequest(string UserName, string Password);

/// <summary>The bearer token the sign-in answers; used once, to register the device.</summary>
public sealed record TokenResponse(string AccessToken);

/// <summary>A problem answer: what the app shows when the server says no.</summary>
public sealed record Problem(string? Title, string? Detail, int? Status);
