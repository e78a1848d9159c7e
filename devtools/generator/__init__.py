"""Deterministic generator of a realistic school district as roster CSV files.

`generate_district(students=..., seed=..., out=...)` writes a made-up California district:
elementary, middle and high schools, households of siblings with one or two guardians,
teachers, one administrator per school, and seven classes per student. `format` picks the
files: OneRoster 1.1 bulk CSV (the default: manifest, orgs, academic sessions, courses,
classes, users, demographics, enrollments), OneRoster 1.2 bulk CSV (the same, with
users.csv in the 1.2 layout plus roles.csv) or Clever SFTP CSV (schools, teachers, staff,
students with their contacts, sections, enrollments).

All three formats write the same district from the same random draws: the same people
under the same source IDs, with the same names, emails, phones, birth dates, classes,
enrollments and guardians, and the same injected problems, so syncing any of them gives the
same records and issues. What Clever's files cannot carry is left out of the Clever
output: teachers' mobile numbers and administrators' phones (teachers.csv and staff.csv
have no phone column; the administrator's number goes to schools.csv's School_phone, which
is not a person's device), guardians' second phone (Contact_phone holds one: the mobile,
else the landline, the number a OneRoster reader would use first; Contact_phone_type
says which, Cell or Home), and the middle names of guardians. A student's own mobile is
sent as a contact row with relationship `Self`.

Everything random comes from one `random.Random(seed)` (split into a sub-generator per
step), with no clock, uuid or set-order dependence, so the same arguments always give
byte-identical files. Rows are streamed to the files; the only things held in memory are
small per-student and per-class tuples.

With `problems=True` a small, fixed rate of realistic data problems is injected (bad or
missing birth dates, parents without a name or a usable contact, foreign or truncated
phones, malformed emails, a teacher without an email, a teacher sharing a parent's email,
classes without a teacher or with a URL in the title, a student with six guardians), so a
sync run over the output meets every kind of issue. With `problems=False` none occur.

Pure Python: no Django imports, so it can be used from scripts and tests alike. The
modules, in the order a district is made:

- tables.py: the name and place tables, read once from data/ (JSON and text files)
- catalog.py: the district's fixed shape (school year, grades, sizes, course catalog)
- names.py, contacts.py: drawing names, phones and emails
- plan.py: schools, students' schools and grades, households, classes and teachers
- problems.py: which records get which data problem
- records.py, staff.py, people.py: the people, handed to a format's sink
- output.py: CSV streams and the sink interface
- oneroster.py, clever.py, enrollments.py: each format's files, headers from the
  parser's own specs
- district.py: generate_district, which runs the steps above
"""

from devtools.generator.clever import HEADERS_CLEVER, clever_contact_name, clever_dob
from devtools.generator.district import FORMATS, PARSER_FORMATS, generate_district
from devtools.generator.names import ascii_name
from devtools.generator.oneroster import HEADERS, HEADERS_12, ROLES_12

__all__ = [
    "FORMATS",
    "HEADERS",
    "HEADERS_12",
    "HEADERS_CLEVER",
    "PARSER_FORMATS",
    "ROLES_12",
    "ascii_name",
    "clever_contact_name",
    "clever_dob",
    "generate_district",
]
