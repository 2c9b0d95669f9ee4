# The original library's README example, unchanged: DynamoDB tables
# "voucher_codes" and "storage_box_deduplication_table" in the region and
# at the endpoint of the environment (AWS_REGION, AWS_ENDPOINT_URL, ...).
import storagebox

voucher_codes = ["MOVIE-%04d" % n for n in range(1, 31)]
user_id = "alice@example.com"

item_repo = storagebox.ItemBankDynamoDbRepository(table_name="voucher_codes")
deduplication_repo = storagebox.DeduplicationDynamoDbRepository(
    table_name="storage_box_deduplication_table")
item_repo.batch_add_items(voucher_codes)
deduplicator = storagebox.Deduplicator(item_repo=item_repo,
                                       deduplication_repo=deduplication_repo)
voucher_code = deduplicator.fetch_item_for_deduplication_id(
    deduplication_id=user_id)
print(user_id, "gets", voucher_code)
