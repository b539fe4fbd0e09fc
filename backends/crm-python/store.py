"""Read-only customer store, loaded once from the seed's crm-customers.json.

The seed holds the customers exactly as the CRM serves them, so records are served as loaded.
"""
import json
import os

SEED_FILE = "crm-customers.json"


class SeedError(Exception):
    """The seed file is missing or not what the CRM expects."""


class CustomerStore:
    def __init__(self, customers):
        self._customers = tuple(sorted(customers, key=lambda c: c["id"]))
        self._by_id = {}
        self._by_email = {}
        for customer in self._customers:
            if customer["id"] in self._by_id:
                raise SeedError(f"duplicate customer id {customer['id']}")
            self._by_id[customer["id"]] = customer
            self._by_email.setdefault(customer["email"].lower(), []).append(customer)

    @classmethod
    def load(cls, seed_dir):
        path = os.path.join(seed_dir, SEED_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise SeedError(f"{path} not found; run `node scripts/seed.mjs` first") from None
        except (OSError, ValueError) as e:
            raise SeedError(f"cannot read {path}: {e}") from None
        if not isinstance(data, list):
            raise SeedError(f"{path}: expected a JSON array of customers")
        for i, c in enumerate(data):
            ok = (isinstance(c, dict) and type(c.get("id")) is int
                  and isinstance(c.get("email"), str))
            if not ok:
                raise SeedError(f"{path}: entry {i} lacks an integer id or a string email")
        return cls(data)

    def __len__(self):
        return len(self._customers)

    def all(self):
        """Every customer, ordered by id."""
        return self._customers

    def get(self, customer_id):
        return self._by_id.get(customer_id)

    def find_by_email(self, email):
        """Exact, case-insensitive match; a list (ordered by id), usually of 0 or 1."""
        return self._by_email.get(email.lower(), [])
