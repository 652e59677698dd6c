using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace WorkOrders.Ticketing.Api;

/// <summary>
/// One rule for what no field of the API (or the sign-in form) may hold, checked before any endpoint reads the
/// request, so that every text column is covered however it is bound:
/// <list type="bullet">
/// <item>no control character in any text (C0 other than tab, line feed and carriage return, DEL and C1: PostgreSQL
/// refuses U+0000 deep in a transaction, and the others are never typed) and no unpaired surrogate in JSON;</item>
/// <item>well-formed JSON, refused as the body rather than blamed on a field;</item>
/// <item>no JSON string longer than <see cref="MaxJsonText"/> characters, whatever the field's own limit;</item>
/// <item>a multipart body that ends properly;</item>
/// <item>paging that means the same on every list: <c>skip</c> from 0, <c>take</c> from 1 to <see cref="MaxTake"/>;</item>
/// <item>a URL of at most <see cref="MaxUrlLength"/> characters, answered 414 with a problem body.</item>
/// </list>
/// A refusal is a 400 (or 414) problem that names the field (its JSON path, query or form name) and the reason, unless
/// the endpoint's <see cref="AccessFirst"/> check refuses the caller: then that 403 is the answer.
/// </summary>
public sealed class InputGuard(RequestDelegate next)
{
    public const int MaxTake = 200;
    public const int MaxSkip = 100_000_000;
    public const int MaxUrlLength = 8 * 1024;

    /// <summary>
    /// The ceiling on any one string of a JSON body: fields with no limit of their own (a password, a note, a secret)
    /// must not take a 300,000-character value to the password hasher or the database.
    /// </summary>
    public const int MaxJsonText = 100_000;

    private static readonly SearchValues<char> Refused = SearchValues.Create(RefusedCharacters());

    public async Task InvokeAsync(HttpContext http)
    {
        var request = http.Request;
        if (!request.IsApi() && !request.Path.StartsWithSegments("/account", StringComparison.OrdinalIgnoreCase))
        {
            await next(http);
            return;
        }

        var refusal = UrlTooLong(request) ?? Query(request.Query) ?? await BodyAsync(request, http.RequestAborted);
        if (refusal is { } refused)
        {
            // Who may use the endpoint before what is wrong with the request: a caller it refuses learns nothing more.
            var first = await AccessFirst.RefusalAsync(http, http.GetEndpoint(), request.RouteValues);
            await (first ?? refused).ExecuteAsync(http);
            return;
        }

        await next(http);
    }

    /// <summary>The first character no text may hold, and where: null when the text is clean.</summary>
    public static Refusal? CheckText(string text)
    {
        var at = text.AsSpan().IndexOfAny(Refused);
        return at < 0 ? null : new Refusal("text.control_character", ((int)text[at]).ToString("X4", CultureInfo.InvariantCulture), at + 1);
    }

    private static IResult? UrlTooLong(HttpRequest request)
    {
        var length = request.PathBase.Value?.Length + request.Path.Value?.Length + request.QueryString.Value?.Length ?? 0;
        return length <= MaxUrlLength
            ? null
            : Problems.Problem(StatusCodes.Status414UriTooLong, new Refusal("status.url_too_long_title"), new Refusal("status.url_too_long", MaxUrlLength));
    }

    private static IResult? Query(IQueryCollection query)
    {
        foreach (var (name, values) in query)
        {
            if (Invalid(name, name) is { } badName)
            {
                return badName;
            }

            foreach (var value in values)
            {
                if (value is not null && (Invalid(name, value) ?? Paging(name, value)) is { } bad)
                {
                    return bad;
                }
            }
        }

        return null;
    }

    private static IResult? Paging(string name, string value)
    {
        var (min, max) = name.ToLowerInvariant() switch
        {
            "skip" => (0, MaxSkip),
            "take" => (1, MaxTake),
            _ => (0, -1),
        };
        if (max < 0)
        {
            return null;
        }

        return int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max
            ? null
            : Refuse(name, new Refusal("field.from_to", min, max));
    }

    private static async Task<IResult?> BodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength is 0)
        {
            return null;
        }

        if (request.HasJsonContentType())
        {
            return await JsonAsync(request, cancellationToken);
        }

        if (!request.HasFormContentType)
        {
            return null;
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or InvalidDataException && !cancellationToken.IsCancellationRequested)
        {
            // A multipart body cut before its closing boundary, or a part without its headers.
            return Refuse("body", new Refusal("body.unreadable", e.Message));
        }

        foreach (var (name, values) in form)
        {
            foreach (var value in values.Prepend(name))
            {
                if (value is not null && Invalid(name, value) is { } bad)
                {
                    return bad;
                }
            }
        }

        return form.Files.Select(f => Invalid(f.Name, f.FileName) ?? Invalid(f.Name, f.Name)).FirstOrDefault(r => r is not null);
    }

    /// <summary>
    /// Reads the JSON body into memory (within the server's body size limit), walks every name and string in it, and
    /// leaves it for the endpoint to read from the start, as the alarm ingestion does twice (signature, then batch).
    /// </summary>
    private static async Task<IResult?> JsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var body = new MemoryStream(request.ContentLength is > 0 and < 1 << 24 ? (int)request.ContentLength : 16 * 1024);
        await request.Body.CopyToAsync(body, cancellationToken);
        body.Position = 0;
        request.Body = body;
        request.HttpContext.Response.RegisterForDispose(body);
        try
        {
            return Walk(body.GetBuffer().AsSpan(0, (int)body.Length));
        }
        catch (JsonException e)
        {
            return Refuse("body", new Refusal("body.malformed", e.Message.Split(" Path:")[0]));
        }
    }

    private static IResult? Walk(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        var path = new JsonPath();
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                case JsonTokenType.StartArray:
                    path.Enter(reader.TokenType == JsonTokenType.StartArray);
                    break;
                case JsonTokenType.EndObject:
                case JsonTokenType.EndArray:
                    path.Leave();
                    path.ValueRead();
                    break;
                case JsonTokenType.PropertyName:
                    var name = Text(ref reader);
                    path.Name(name ?? "");
                    if ((name is null ? new Refusal("text.invalid_unicode") : CheckText(name)) is { } badName)
                    {
                        return Refuse(path.ToString(), badName);
                    }

                    break;
                case JsonTokenType.String:
                    var text = Text(ref reader);
                    if ((text is null ? new Refusal("text.invalid_unicode") : text.Length > MaxJsonText ? new Refusal("field.too_long", MaxJsonText) : CheckText(text)) is { } badText)
                    {
                        return Refuse(path.ToString(), badText);
                    }

                    path.ValueRead();
                    break;
                default:
                    path.ValueRead();
                    break;
            }
        }

        return null;
    }

    /// <summary>The string, or null when its escapes make no valid UTF-16 (an unpaired surrogate).</summary>
    private static string? Text(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static IResult? Invalid(string field, string text) => CheckText(text) is { } refusal ? Refuse(field, refusal) : null;

    private static IResult Refuse(string field, Refusal reason) => Failure.Invalid(string.IsNullOrEmpty(field) ? "body" : field, reason).ToResult();

    private static string RefusedCharacters()
    {
        var refused = new StringBuilder();
        for (var c = '\0'; c < ' '; c++)
        {
            if (c is not ('\t' or '\n' or '\r'))
            {
                refused.Append(c);
            }
        }

        for (var c = '\u007F'; c <= '\u009F'; c++)
        {
            refused.Append(c);
        }

        return refused.ToString();
    }

    /// <summary>Where the reader is, written the way validation problems name fields: <c>events[3].value</c>.</summary>
    private sealed class JsonPath
    {
        private readonly List<(bool Array, int Index, string? Name)> _levels = [];

        public void Enter(bool array)
        {
            _levels.Add((array, 0, null));
        }

        public void Leave()
        {
            if (_levels.Count > 0)
            {
                _levels.RemoveAt(_levels.Count - 1);
            }
        }

        public void Name(string name)
        {
            if (_levels.Count > 0)
            {
                _levels[^1] = _levels[^1] with { Name = name };
            }
        }

        public void ValueRead()
        {
            if (_levels.Count > 0 && _levels[^1].Array)
            {
                _levels[^1] = _levels[^1] with { Index = _levels[^1].Index + 1 };
            }
        }

        public override string ToString()
        {
            var text = new StringBuilder();
            foreach (var level in _levels)
            {
                if (level.Array)
                {
                    text.Append('[').Append(level.Index.ToString(CultureInfo.InvariantCulture)).Append(']');
                }
                else if (level.Name is not null)
                {
                    text.Append(text.Length > 0 ? "." : "").Append(level.Name);
                }
            }

            return text.ToString();
        }
    }
}
