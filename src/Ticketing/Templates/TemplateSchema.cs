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

/// <summary>
/// One custom field of a template: its neutral label and, in <see cref="Labels"/>, a label per culture name
/// ({"zh-TW": "故障類型"}).
/// </summary>
public sealed record TemplateField(
    string Key,
    string Label,
    FieldKind Kind,
    bool Required = false,
    IReadOnlyList<string>? Options = null,
    int? MaxLength = null,
    decimal? Min = null,
    decimal? Max = null,
    IReadOnlyDictionary<string, string>? Labels = null)
{
    /// <summary>The label in a culture: its own, else its parent culture's (zh-TW, then zh-Hant, then zh), else the neutral one.</summary>
    public string LabelFor(CultureInfo culture)
    {
        for (var c = culture; c.Name.Length > 0; c = c.Parent)
        {
            if (Labels?.GetValueOrDefault(c.Name) is { Length: > 0 } label)
            {
                return label;
            }
        }

        return Label;
    }
}

/// <summary>The custom values a work order carries, checked against its template.</summary>
public static partial class TemplateSchema
{
    public const int MaxFields = 40;
    public const int MaxLabelLength = 100;
    public const int MaxLabels = 20;
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

            if (string.IsNullOrWhiteSpace(field.Label) || field.Label.Length > MaxLabelLength)
            {
                errors.Add($"{at}.label", "field.required_short", MaxLabelLength);
            }

            ValidateLabels(field.Labels, at, errors);

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

    /// <summary>The labels of a field with one translation, as seed data and tests write them.</summary>
    public static IReadOnlyDictionary<string, string> Label(string culture, string text) => new Dictionary<string, string>(StringComparer.Ordinal) { [culture] = text };

    private static void ValidateLabels(IReadOnlyDictionary<string, string>? labels, string at, FieldErrors errors)
    {
        if (labels is { Count: > MaxLabels })
        {
            errors.Add($"{at}.labels", "template.too_many_labels", MaxLabels);
        }

        foreach (var (culture, text) in labels ?? new Dictionary<string, string>())
        {
            if (!IsCultureName(culture))
            {
                errors.Add($"{at}.labels", "template.labels_culture", culture);
            }
            else if (string.IsNullOrWhiteSpace(text) || text.Length > MaxLabelLength)
            {
                errors.Add($"{at}.labels.{culture}", "field.required_short", MaxLabelLength);
            }
        }
    }

    // Only cultures the platform knows, written as it writes them (zh-TW, not zh-tw or a made-up tag).
    private static bool IsCultureName(string name)
    {
        try
        {
            return name.Length is > 0 and <= 20 && CultureInfo.GetCultureInfo(name, predefinedOnly: true).Name == name;
        }
        catch (CultureNotFoundException)
        {
            return false;
        }
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
