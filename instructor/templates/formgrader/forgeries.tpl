{#- The course's Formgrader page of forgeries (instructor/formgrader.py), rendered with every
    value escaped: the names come from students. -#}
{%- extends 'base.tpl' -%}

{%- block title -%}
Forgeries
{%- endblock -%}

{%- block sidebar -%}
<li role="presentation"><a href="{{ base_url }}/formgrader/manage_assignments">Manage Assignments</a></li>
<li role="presentation"><a href="{{ base_url }}/formgrader/gradebook">Manual Grading</a></li>
<li role="presentation"><a href="{{ base_url }}/formgrader/manage_students">Manage Students</a></li>
<li role="presentation" class="active"><a href="{{ base_url }}/formgrader/forgeries">Forgeries</a></li>
{%- endblock -%}

{%- block body -%}
<p>
  Submissions made in another student's name: a folder of the exchange's inbound whose owner,
  the login that made it, is not the student its name claims. None was collected or graded;
  the student it names is graded from their own submissions as if it were not there.
</p>
<table class="table table-hover" id="forgeries">
  <thead>
    <tr>
      <th>Assignment</th>
      <th>In the name of</th>
      <th>Made by</th>
      <th>Submitted</th>
      <th>Found</th>
      <th>Found by</th>
    </tr>
  </thead>
  <tbody>
    {%- for f in forgeries %}
    <tr class="forgery">
      <td class="assignment">{{ f.assignment }}</td>
      <td class="student">{{ f.student }}</td>
      <td class="owner">{{ f.owner }}</td>
      <td class="submitted">{{ f.submitted }}</td>
      <td class="found">{{ f.found }}</td>
      <td class="by">{{ f.by }}</td>
    </tr>
    {%- else %}
    <tr><td colspan="6">No submission was made in another student's name.</td></tr>
    {%- endfor %}
  </tbody>
</table>
{%- endblock -%}
