-- A custom field's translated labels are kept per culture name beside the neutral label:
-- {"label": "Fault", "labelZh": "故障類型"} becomes {"label": "Fault", "labels": {"zh-TW": "故障類型"}}.
UPDATE templates t
SET fields = (
    SELECT jsonb_agg(
               CASE WHEN f ? 'labelZh'
                    THEN (f - 'labelZh') || CASE WHEN coalesce(f->>'labelZh', '') = '' THEN '{}'::jsonb
                                                 ELSE jsonb_build_object('labels', jsonb_build_object('zh-TW', f->'labelZh')) END
                    ELSE f END
               ORDER BY position)
    FROM jsonb_array_elements(t.fields) WITH ORDINALITY AS e(f, position))
WHERE jsonb_path_exists(t.fields, '$[*].labelZh');
