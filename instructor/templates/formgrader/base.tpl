{#- nbgrader's base template, with the course's notice of forgeries at the top of each page's
    body (instructor/formgrader.py); everything else is nbgrader's own. -#}
{%- extends 'nbgrader/base.tpl' -%}

{%- block body -%}
{%- set refused = course_forgeries() if course_forgeries is defined else 0 -%}
{%- if refused %}
<div class="alert alert-danger" id="course-forgeries-notice" role="alert">
  {{ refused }} submission{{ "s" if refused > 1 else "" }} made in another student's name
  {{ "were" if refused > 1 else "was" }} refused:
  <a class="alert-link" href="{{ base_url }}/formgrader/forgeries">who made {{ "them" if refused > 1 else "it" }}, and when</a>.
</div>
{%- endif %}
{{ super() }}
{%- endblock -%}
