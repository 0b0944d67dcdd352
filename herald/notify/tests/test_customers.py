"""Customer files: a good file imports and syncs; a bad one is refused whole, every row named."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from herald.notify.customer_files import CustomerFileError, parse_customer_file
from herald.notify.models import Contact, Customer, Deployment
from herald.test import HeraldTestCase

HEADER = "customer_id,organisation,region,contact_email,contact_name,contact_role,product,"
HEADER += "deployment"
GOOD = (
    HEADER
    + """,version
acme,Acme Corp,EU,sec@acme.example,Ana,CISO,cloud,cloud,
acme,,,ops@acme.example,,,,,
"""
)

BAD = """customer_id,organisation,region,contact_email,product,deployment,version
acme,Acme Corp,EU,sec@acme.example,cloud,cloud,
,No Id,EU,x@example.com,cloud,cloud,
globex,Globex,MARS,it@globex.example,cloud,cloud,
initech,Initech,EU,not-an-address,cloud,cloud,
umbrella,Umbrella,EU,sec@umbrella.example,rocket,cloud,
hooli,Hooli,EU,sec@hooli.example,cloud,on_the_moon,
acme,Acme Inc,EU,,,,
"""


class ImportTests(HeraldTestCase):
    def run_import(self, path: Path, *extra: str) -> str:
        out = StringIO()
        call_command("customers", "import", str(path), *extra, stdout=out, stderr=StringIO())
        return out.getvalue()

    def test_a_csv_file_imports_customers_contacts_and_deployments(self) -> None:
        path = Path(self.id().replace(".", "_") + ".csv")
        path.write_text(GOOD)
        try:
            out = self.run_import(path)
        finally:
            path.unlink()
        assert "1 new" in out
        acme = Customer.objects.get(external_id="acme")
        assert (acme.name, acme.region) == ("Acme Corp", "EU")
        assert sorted(acme.contacts.values_list("email", flat=True)) == [
            "ops@acme.example",
            "sec@acme.example",
        ]
        assert acme.deployments.get().region == "EU"  # a deployment inherits the region

    def test_a_bad_file_is_refused_whole_with_every_bad_row_named(self) -> None:
        with pytest.raises(CustomerFileError) as caught:
            parse_customer_file(BAD)
        problems = dict(caught.value.problems)
        assert sorted(problems) == [3, 4, 5, 6, 7, 8]
        assert "customer_id is empty" in problems[3]
        assert "unknown region 'MARS'" in problems[4]
        assert "invalid e-mail address 'not-an-address'" in problems[5]
        assert "unknown product 'rocket'" in problems[6]
        assert "unknown deployment 'on_the_moon'" in problems[7]
        assert "differs from 'Acme Corp' on line 2" in problems[8]

    def test_the_command_imports_nothing_from_a_bad_file_and_says_why(self) -> None:
        path = Path(self.id().replace(".", "_") + ".csv")
        path.write_text(BAD)
        err = StringIO()
        try:
            with pytest.raises(CommandError):
                call_command("customers", "import", str(path), stdout=StringIO(), stderr=err)
        finally:
            path.unlink()
        assert "6 bad row(s)" in err.getvalue() and "line 5: invalid e-mail" in err.getvalue()
        assert not Customer.objects.exists() and not Contact.objects.exists()

    def test_a_json_file_names_bad_customers_by_their_line(self) -> None:
        text = """[
  {"customer_id": "acme", "organisation": "Acme", "contacts": [{"email": "a@acme.example"}],
   "deployments": [{"product": "cloud", "deployment": "cloud", "region": "EU"}]},
  {"customer_id": "globex", "organisation": "Globex",
   "contacts": [{"email": "nope"}]}
]"""
        with pytest.raises(CustomerFileError) as caught:
            parse_customer_file(text)
        assert caught.value.problems == [(4, "invalid e-mail address 'nope'")]

    def test_reimporting_keeps_customers_in_sync_with_the_file(self) -> None:
        from herald.notify.actions import do_import_customers

        do_import_customers(parse_customer_file(GOOD), acting_user=self.alice)
        newer = GOOD.replace("ops@acme.example", "soc@acme.example").replace(",cloud,cloud,", ",,,")
        counts = do_import_customers(parse_customer_file(newer), acting_user=self.alice)
        assert counts["updated"] == 1
        assert sorted(Contact.objects.values_list("email", flat=True)) == [
            "sec@acme.example",
            "soc@acme.example",
        ]
        assert not Deployment.objects.exists()
