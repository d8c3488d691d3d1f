// Upload an image with @jellyfin/sdk's ImageApi, as jellyfin-web does: the file base64-encoded,
// Content-Type set to the file's type. Usage: node upload.mjs BASE TOKEN ITEM_ID TYPE FILE MIME
// Prints the HTTP status (or the error's status) and exits 0.
import { readFileSync } from 'node:fs';
import { Jellyfin } from '@jellyfin/sdk';
import { getImageApi } from '@jellyfin/sdk/lib/utils/api/image-api.js';

const [base, token, itemId, imageType, file, mime] = process.argv.slice(2);
const jellyfin = new Jellyfin({
    clientInfo: { name: 'pipeline tests', version: '1.0.0' },
    deviceInfo: { name: 'node', id: 'pipeline-tests' }
});
const api = jellyfin.createApi(base, token);
const body = readFileSync(file).toString('base64');
try {
    const response = await getImageApi(api).setItemImage(
        { itemId, imageType, body },
        { headers: { 'Content-Type': mime } }
    );
    console.log(response.status);
} catch (error) {
    console.log(error.response ? error.response.status : `error: ${error.message}`);
}
