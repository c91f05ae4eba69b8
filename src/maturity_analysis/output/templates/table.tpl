{#- A Styler's table as pandas' html_table.tpl writes it, without its per-cell classes and
indentation (no style of the reports names them): a table of 300 branches in a third of the
bytes. A cell has an id only when it has a style of its own (cell_ids=False). The cell is
written inline (a macro call a cell took 7% longer to render). -#}
<table id="T_{{uuid}}"{% if table_attributes %} {{table_attributes}}{% endif %}>
{% for part, rows in [("thead", head), ("tbody", body)] -%}
<{{part}}>
{% for r in rows -%}
<tr>{% for c in r if c.is_visible != False %}<{{c.type}}{% if c.id is defined %} id="T_{{uuid}}_{{c.id}}"{% endif %}{% if c.attributes %} {{c.attributes}}{% endif %}>{{c.display_value}}</{{c.type}}>{% endfor %}</tr>
{% endfor -%}
</{{part}}>
{% endfor -%}
</table>
