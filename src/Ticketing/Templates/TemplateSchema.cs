using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace WorkOrders.Ticketing.Templates;

public enum WorkType
{
    Corrective,
    Preventive,
    Inspection,
    ServiceRequest,
    Approval,
}

public enum FieldKind
{
    Text,
    Number,
    Date,
    Choice,
    Asset,
}

/// <summary>One custom field of a template. Labels may be given in English and Traditional Chinese.</summary>
public sealed record TemplateField(
    string Key,
    string Label,
    FieldKind Kind,
    bool Required = false,
    IReadOnlyList<string>? Options = null,
    int? MaxLength = null,
    decimal? Min = null,
    decimal? Max = null,
    string? LabelZh = null);

/// <summary>The custom values a work order carries, checked against its template.</summary>
public static partial class TemplateSchema
{
    public const int MaxFields = 40;
    public const int DefaultTextLength = 2000;

    /// <summary>How field lists and values are written to jsonb.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Checks a template's own field list (for administrators editing templates).</summary>
    public static void ValidateDefinition(IReadOnlyList<TemplateField>? fields, FieldErrors errors)
    {
        if (fields is null)
        {
            return;
        }

        if (fields.Count > MaxFields)
        {
            errors.Add("fields", "template.too_many_fields", MaxFields);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < fields.Count; i++)
        {
            var field = fields[i];
            var at = $"fields[{i}]";
            if (field is null)
            {
                errors.Add(at, "template.field_object");
                continue;
            }

            if (field.Key is null || !KeyPattern().IsMatch(field.Key))
            {
                errors.Add($"{at}.key", "template.field_key");
            }
            else if (!seen.Add(field.Key))
            {
                errors.Add($"{at}.key", "template.field_key_taken", field.Key);
            }

            if (string.IsNullOrWhiteSpace(field.Label) || field.Label.Length > 100)
            {
                errors.Add($"{at}.label", "field.required_short", 100);
            }

            if (field.Kind == FieldKind.Choice)
            {
                if (field.Options is not { Count: > 0 } || field.Options.Any(string.IsNullOrWhiteSpace))
                {
                    errors.Add($"{at}.options", "template.choice_needs_options");
                }
                else if (field.Options.Distinct(StringComparer.Ordinal).Count() != field.Options.Count)
                {
                    errors.Add($"{at}.options", "template.options_distinct");
                }
            }
            else if (field.Options is { Count: > 0 })
            {
                errors.Add($"{at}.options", "template.options_only_choice");
            }

            if (field.MaxLength is { } max && (field.Kind != FieldKind.Text || max is < 1 or > 20000))
            {
                errors.Add($"{at}.maxLength", "template.max_length");
            }

            if ((field.Min is not null || field.Max is not null) && field.Kind != FieldKind.Number)
            {
                errors.Add($"{at}.min", "template.min_max_only_number");
            }
            else if (field.Min > field.Max)
            {
                errors.Add($"{at}.min", "template.min_above_max");
            }
        }
    }

    /// <summary>
    /// Checks submitted values against the fields. Returns the values to store (normalised: trimmed text,
    /// decimal numbers, ISO dates, asset ids) and the asset ids that the caller must confirm exist.
    /// </summary>
    public static (Dictionary<string, object> Values, List<(string Field, long AssetId)> AssetReferences) ValidateValues(
        IReadOnlyList<TemplateField> fields,
        IReadOnlyDictionary<string, JsonElement>? submitted,
        FieldErrors errors)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        var assets = new List<(string, long)>();
        submitted ??= new Dictionary<string, JsonElement>();

        foreach (var key in submitted.Keys.Where(k => fields.All(f => f.Key != k)))
        {
            errors.Add($"customFields.{key}", "custom_field.unknown");
        }

        foreach (var field in fields)
        {
            var name = $"customFields.{field.Key}";
            if (!submitted.TryGetValue(field.Key, out var raw) || IsEmpty(raw))
            {
                if (field.Required)
                {
                    errors.Add(name, "field.required");
                }

                continue;
            }

            switch (field.Kind)
            {
                case FieldKind.Text:
                    if (raw.ValueKind != JsonValueKind.String)
                    {
                        errors.Add(name, "custom_field.text");
                    }
                    else if (raw.GetString()!.Trim() is var text && text.Length > (field.MaxLength ?? DefaultTextLength))
                    {
                        errors.Add(name, "field.too_long", field.MaxLength ?? DefaultTextLength);
                    }
                    else
                    {
                        values[field.Key] = text;
                    }

                    break;
                case FieldKind.Number:
                    if (!TryNumber(raw, out var number))
                    {
                        errors.Add(name, "custom_field.number");
                    }
                    else if (number < field.Min || number > field.Max)
                    {
                        errors.Add(name, "custom_field.between", field.Min?.ToString(CultureInfo.InvariantCulture) ?? "-∞", field.Max?.ToString(CultureInfo.InvariantCulture) ?? "∞");
                    }
                    else
                    {
                        values[field.Key] = number;
                    }

                    break;
                case FieldKind.Date:
                    if (raw.ValueKind != JsonValueKind.String
                        || !DateOnly.TryParseExact(raw.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                    {
                        errors.Add(name, "field.date");
                    }
                    else
                    {
                        values[field.Key] = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                    }

                    break;
                case FieldKind.Choice:
                    if (raw.ValueKind != JsonValueKind.String || !(field.Options ?? []).Contains(raw.GetString()!, StringComparer.Ordinal))
                    {
                        errors.Add(name, "field.one_of", string.Join(", ", field.Options ?? []));
                    }
                    else
                    {
                        values[field.Key] = raw.GetString()!;
                    }

                    break;
                case FieldKind.Asset:
                    if (raw.ValueKind != JsonValueKind.Number || !raw.TryGetInt64(out var assetId) || assetId <= 0)
                    {
                        errors.Add(name, "custom_field.asset");
                    }
                    else
                    {
                        values[field.Key] = assetId;
                        assets.Add((name, assetId));
                    }

                    break;
                default:
                    throw new InvalidOperationException($"Unknown field kind {field.Kind}.");
            }
        }

        return (values, assets);
    }

    private static bool IsEmpty(JsonElement value) =>
        value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined
        || (value.ValueKind == JsonValueKind.String && string.IsNullOrWhiteSpace(value.GetString()));

    private static bool TryNumber(JsonElement value, out decimal number)
    {
        number = 0;
        return value.ValueKind switch
        {
            JsonValueKind.Number => value.TryGetDecimal(out number),
            JsonValueKind.String => decimal.TryParse(value.GetString(), NumberStyles.Number, CultureInfo.InvariantCulture, out number),
            _ => false,
        };
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,39}$")]
    private static partial Regex KeyPattern();
}
