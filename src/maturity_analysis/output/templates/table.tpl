{#- A Styler's table as pandas' html_table.tpl writes it, without its per-cell classes and
indentation (no style of the reports names them): a table of 300 branches in a third of the
bytes. A cell has an id only when it has a style of its own (cell_ids=False). -#}
{% macro cell(c, uuid) -%}
<{{c.type}}{% if c.id is defined %} id="T_{{uuid}}_{{c.id}}"{% endif %}{% if c.attributes %} {{c.attributes}}{% endif %}>{{c.display_value}}</{{c.type}}>
{%- endmacro %}
<table id="T_{{uuid}}"{% if table_attributes %} {{table_attributes}}{% endif %}>
<thead>
{% for r in head -%}
<tr>{% for c in r if c.is_visible != False %}{{ cell(c, uuid) }}{% endfor %}</tr>
{% endfor -%}
</thead>
<tbody>
{% for r in body -%}
<tr>{% for c in r if c.is_visible != False %}{{ cell(c, uuid) }}{% endfor %}</tr>
{% endfor -%}
</tbody>
</table>
