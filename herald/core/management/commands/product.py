"""``herald product``: the products advisories can name as affected (list, add)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.db.models import Count

from herald.core.actions import do_add_product
from herald.core.cli_support import HeraldCommand
from herald.core.models import Product

EPILOG = """\
examples:
  herald product list
  herald product add "Northwind Cloud" --slug cloud
  herald product add "Northwind SDK" --slug sdk --ecosystem PyPI --package northwind-sdk \\
      --repository https://github.com/northwind/sdk --as alice

An advisory names a product by its slug (herald advisory create --product cloud).
"""


def product_to_dict(product: Product, advisories: int) -> dict[str, Any]:
    return {
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "ecosystem": product.ecosystem,
        "package_name": product.package_name,
        "repository_url": product.repository_url,
        "advisories": advisories,
    }


class Command(HeraldCommand):
    help = "List the products advisories can name as affected, and add one."
    epilog = EPILOG

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(
            dest="subcommand", required=True, metavar="SUBCOMMAND", title="subcommands"
        )
        self.add_subcommand(
            subparsers,
            "list",
            help="list the products: slug, name, package, advisories naming it",
            epilog="examples:\n  herald product list\n  herald product list --json\n",
        )
        add = self.add_subcommand(
            subparsers,
            "add",
            help="add a product",
            write=True,
            epilog='example:\n  herald product add "Northwind Cloud" --slug cloud\n',
        )
        add.add_argument("name", metavar="NAME", help="the name readers see")
        add.add_argument("--slug", default="", help="what commands type (default: from the name)")
        add.add_argument("--description", default="", metavar="TEXT")
        add.add_argument(
            "--ecosystem", default="", help="package ecosystem if it ships as a package (PyPI, npm)"
        )
        add.add_argument("--package", dest="package_name", default="", metavar="NAME")
        add.add_argument("--repository", dest="repository_url", default="", metavar="URL")

    def handle(self, *args: Any, **options: Any) -> None:
        self.dispatch(options, {"list": self.cmd_list, "add": self.cmd_add})

    def cmd_list(self, **options: Any) -> None:
        products = Product.objects.annotate(n=Count("affected__advisory", distinct=True)).order_by(
            "slug"
        )
        rows = [product_to_dict(p, p.n) for p in products]
        if options["json"]:
            self.write_json(rows)
            return
        if not rows:
            self.stdout.write('No products yet. Add one: herald product add "NAME" --slug SLUG')
            return
        width = max(len(row["slug"]) for row in rows)
        for row in rows:
            package = (
                f"  [{row['ecosystem']}: {row['package_name']}]" if row["package_name"] else ""
            )
            count = row["advisories"]
            advisories = f"{count} advisory" if count == 1 else f"{count} advisories"
            self.stdout.write(f"{row['slug']:<{width}}  {row['name']}{package}  ({advisories})")

    def cmd_add(self, **options: Any) -> None:
        product = do_add_product(
            acting_user=self.acting_user(options),
            name=options["name"],
            slug=options["slug"],
            description=options["description"],
            ecosystem=options["ecosystem"],
            package_name=options["package_name"],
            repository_url=options["repository_url"],
        )
        if options.get("json"):
            self.write_json(product_to_dict(product, 0))
        else:
            self.stdout.write(f"{product.slug} added: {product.name}")
